from typing import Any

from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "accord.activities"
    label = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        from accord.core import registry

        registry.register_purge_listener("activities", purge_activities_of)
        registry.register_change_listener("notifications", notify_assignments)

        import datetime as dt

        from accord.core import scheduler

        scheduler.register(
            "notification-digest",
            "accord.activities.tasks.send_notification_digests",
            every=dt.timedelta(days=1),
        )
        # Immediate emails are enqueued after each commit; this catches any a crash dropped.
        scheduler.register(
            "notification-email",
            "accord.activities.tasks.send_notification_emails",
            every=dt.timedelta(minutes=5),
        )


def notify_assignments(changes: Any, actor: Any) -> None:
    from accord.activities.notifications import assignments_changed

    assignments_changed(changes, actor)


def purge_activities_of(object_type: str, record_ids: list[Any]) -> None:
    """A record leaving the recycle bin for good takes its activities with it: they are about
    that record and nobody could reach them any more."""
    from accord.activities.models import ACTIVITY_MODELS
    from accord.core.tasks import purge_rows

    for model in ACTIVITY_MODELS:
        rows = list(
            model.all_objects.filter(related_type=object_type, related_id__in=record_ids)
            .select_for_update()
            .order_by("pk")
        )
        if rows:
            purge_rows(model, rows)
