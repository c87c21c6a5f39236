import datetime as dt

from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "accord.integration"
    label = "integration"
    verbose_name = "Integration"

    def ready(self) -> None:
        from django.core.exceptions import ImproperlyConfigured

        from accord.config import ConfigError
        from accord.core import scheduler
        from accord.integration import config

        try:
            config.check()
        except ConfigError as exc:
            raise ImproperlyConfigured(str(exc)) from None
        scheduler.register(
            "event-retention",
            "accord.integration.tasks.purge_events",
            every=dt.timedelta(hours=1),
        )
        scheduler.register(
            "sync-replica-retention",
            "accord.integration.sync.purge_sync_replicas",
            every=dt.timedelta(hours=6),
        )
        self._webhooks()

    def _webhooks(self) -> None:
        from django.core.exceptions import ImproperlyConfigured

        from accord.config import ConfigError
        from accord.core import registry, scheduler
        from accord.integration.webhooks import config
        from accord.integration.webhooks.references import references

        try:
            config.check()
        except ConfigError as exc:
            raise ImproperlyConfigured(str(exc)) from None
        scheduler.register(
            "webhook-log-retention",
            "accord.integration.webhooks.tasks.purge_webhook_log",
            every=dt.timedelta(hours=6),
        )
        registry.register_references("integration.webhooks", references)
