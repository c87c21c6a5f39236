import datetime as dt

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "accord.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from accord.core import scheduler

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
