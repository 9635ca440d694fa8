"""Indexes of the daily limit per address and of retention (notifications.delivery,
notifications.retention). Built CONCURRENTLY: the outbox is written and read all the time, and a
plain CREATE INDEX would stop the workers and the bookings while it runs."""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0004_notification_agent"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("status__in", ["sent", "sending"])),
                fields=["to", "sent_at"],
                name="notification_daily_limit",
            ),
        ),
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("to", ""), _negated=True), fields=["created_at"], name="notification_to_anonymise"
            ),
        ),
        AddIndexConcurrently(
            model_name="notification",
            index=django.contrib.postgres.indexes.BrinIndex(fields=["created_at"], name="notification_created_brin"),
        ),
    ]
