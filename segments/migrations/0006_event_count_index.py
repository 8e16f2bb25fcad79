from django.db import migrations

# Event conditions count a profile's events by name and time (segments.sql.event_form).
# The GROUP BY forms (`count gte 2`, `lt 2`, …) read every event of one name since a time
# and group it by profile: this covering index lets PostgreSQL do that with an index-only
# scan. EXISTS / NOT EXISTS probe per profile through `event_profile_name_time`.
# docs/delivery-performance.md shows the plans. PostgreSQL only (INCLUDE, partial).
CREATE = (
    "CREATE INDEX IF NOT EXISTS event_name_time_profile ON segments_event "
    "(name, occurred_at) INCLUDE (profile_id) WHERE profile_id IS NOT NULL"
)
DROP = "DROP INDEX IF EXISTS event_name_time_profile"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("segments", "0005_profile_trait_indexes")]

    operations = [migrations.RunPython(forward, backward)]
