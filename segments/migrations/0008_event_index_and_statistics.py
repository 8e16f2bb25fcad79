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
# Fresh statistics on the events table: the default (analyse after 10 % of the rows
# changed) leaves a growing table unanalysed for hours, and a stale estimate once turned
# the de-duplication lookup of a 500-event batch from 1.7 ms into 91 ms. Analyse after
# 1 % + 5,000 rows instead (docs/delivery-performance.md, "Events").
ANALYZE_OFTEN = (
    "ALTER TABLE segments_event SET (autovacuum_analyze_scale_factor = 0.01, "
    "autovacuum_analyze_threshold = 5000)"
)
ANALYZE_DEFAULT = (
    "ALTER TABLE segments_event RESET (autovacuum_analyze_scale_factor, "
    "autovacuum_analyze_threshold)"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(ANALYZE_OFTEN)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(ANALYZE_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("segments", "0007_event_attribution")]

    operations = [migrations.RunPython(forward, backward)]
