from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "accord.parties"
    label = "parties"
    verbose_name = "Accounts and contacts"

    def ready(self) -> None:
        from accord.core import registry
        from accord.parties import customfields

        registry.register_custom_field_validator(customfields.clean_values)
