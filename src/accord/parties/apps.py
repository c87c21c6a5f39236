from typing import Any

from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "accord.parties"
    label = "parties"
    verbose_name = "Accounts and contacts"

    def ready(self) -> None:
        from accord.core import registry
        from accord.parties import customfields

        registry.register_custom_field_validator(customfields.clean_values)
        registry.register_purge_listener("attachments", purge_attachments_of)


def purge_attachments_of(object_type: str, record_ids: list[Any]) -> None:
    """A record leaving the recycle bin for good takes its attachments with it. Their stored
    files stay: they are content-addressed and may be shared with other attachments."""
    from accord.core.tasks import purge_rows
    from accord.parties.models import Attachment

    rows = list(
        Attachment.all_objects.filter(related_type=object_type, related_id__in=record_ids)
        .select_for_update()
        .order_by("pk")
    )
    if rows:
        purge_rows(Attachment, rows)
