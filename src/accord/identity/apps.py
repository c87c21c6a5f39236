from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "accord.identity"
    label = "identity"
    verbose_name = "Identity and access"
