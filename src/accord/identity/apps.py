from typing import Any

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "accord.identity"
    label = "identity"
    verbose_name = "Identity and access"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accord.core import registry
        from accord.identity import models, visibility

        def changed(**_: Any) -> None:
            visibility.access_model_changed()

        # Any write to the access model, through services, Django admin or a test's ORM call,
        # makes grants cached in this process stale.
        for model in (
            models.Role,
            models.Team,
            models.Territory,
            models.SharingDefault,
            models.SharingRule,
            models.RecordShare,
            models.ObjectPermission,
            models.FieldPermission,
        ):
            post_save.connect(changed, sender=model, weak=False)
            post_delete.connect(changed, sender=model, weak=False)
        for through in (models.Team.members.through, models.Territory.members.through):
            m2m_changed.connect(changed, sender=through, weak=False)
        import datetime as dt

        from accord.core import scheduler

        scheduler.register(
            "login-throttle-purge",
            "accord.identity.tasks.purge_login_throttles",
            every=dt.timedelta(hours=1),
        )
        registry.register_field_policy(visibility.field_policy)
        registry.register_purge_listener("identity", forget_shares)


def forget_shares(object_type: str, record_ids: list[Any]) -> None:
    """Manual shares of purged records go with them."""
    from accord.identity.models import RecordShare

    RecordShare.objects.filter(object_type=object_type, record_id__in=record_ids).delete()
