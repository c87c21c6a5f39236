from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "accord.parties"
    label = "parties"
    verbose_name = "Accounts and contacts"
