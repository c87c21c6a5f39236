from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "accord.marketing"
    label = "marketing"
    verbose_name = "Marketing"
