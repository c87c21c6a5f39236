import datetime as dt

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "accord.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from accord.core import scheduler

        scheduler.register(
            "web-form-submission-purge",
            "accord.sales.tasks.purge_web_form_submissions",
            every=dt.timedelta(hours=1),
        )
