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
