"""Offline sync: replicas, what each holds, and what its last page sent (integration/sync.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0003_webhooks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SyncReplica",
            fields=[
                ("id", models.UUIDField(editable=False, primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField()),
                ("pulled_at", models.DateTimeField()),
                ("page", models.PositiveIntegerField(default=0)),
                ("policies", models.JSONField(default=dict)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SyncPending",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "replica_id",
                        "object_type",
                        "record_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("object_type", models.CharField(max_length=40)),
                ("record_id", models.UUIDField()),
                ("version", models.PositiveIntegerField(null=True)),
                (
                    "replica",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="integration.syncreplica",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SyncHolding",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "replica_id",
                        "object_type",
                        "record_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("object_type", models.CharField(max_length=40)),
                ("record_id", models.UUIDField()),
                ("version", models.PositiveIntegerField()),
                (
                    "replica",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="integration.syncreplica",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="syncreplica",
            index=models.Index(fields=["pulled_at"], name="sync_replica_pulled"),
        ),
    ]
