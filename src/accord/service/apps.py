import datetime as dt

from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "accord.service"
    label = "service"
    verbose_name = "Service"

    def ready(self) -> None:
        from accord.core import scheduler

        # Warnings at a target's warning threshold and breaches at its due time: a minute late
        # at most.
        scheduler.register(
            "sla-alerts", "accord.service.tasks.check_sla_targets", every=dt.timedelta(minutes=1)
        )
