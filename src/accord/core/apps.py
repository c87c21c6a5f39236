import datetime as dt

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "accord.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from accord.core import scheduler
        from accord.core.money import normalize_currency

        try:
            normalize_currency(settings.ACCORD_CURRENCY)
        except ValueError as exc:
            raise ImproperlyConfigured(f"ACCORD_CURRENCY: {exc}") from None

        scheduler.register(
            "recycle-bin-purge",
            "accord.core.tasks.purge_recycle_bin",
            every=dt.timedelta(hours=1),
        )
        scheduler.register(
            "idempotency-key-purge",
            "accord.core.idempotency.purge_idempotency_keys",
            every=dt.timedelta(hours=1),
        )
