from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "accord.web"
    label = "web"
    verbose_name = "Staff web app"

    def ready(self) -> None:
        from accord.web import pages, records

        pages.discover()
        records.mount(pages.site)
