"""A BRIN index on events' `occurred_at`, on PostgreSQL only (SQLite has none).

Events arrive close to time order, so a block-range index of a few hundred kilobytes
finds a day's events for the rollups' day rebuild (`site_id = … AND occurred_at` in a
day, any name or kind), which no btree serves: on 2,000,000 events it read 2,695 buffers
instead of 21,506 (docs/delivery-performance.md). Not in the model's Meta because
Django would then create it on SQLite too.
"""

from django.db import migrations

INDEX = "segments_event_occurred_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON segments_event USING brin (occurred_at)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("segments", "0012_profile_bucketing_id")]
    operations = [migrations.RunPython(create, drop)]
