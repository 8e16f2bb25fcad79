import importlib

from django.db import migrations

# Number fields now also read text that spells a number ("27"; docs/criteria.md
# "Coercion"), so the expression `to_q()` emits for them changed: the number indexes of
# 0005 are rebuilt on the new expression (frozen here, checked by a test like 0005's).
PREVIOUS = importlib.import_module("segments.migrations.0005_profile_trait_indexes")
_NUMBER = (
    "CREATE INDEX IF NOT EXISTS \"{name}\" ON segments_profile (site_id, ((CASE "
    "jsonb_typeof((traits -> '{key}')) WHEN 'number' THEN ((traits ->> '{key}'))::float8 "
    "WHEN 'string' THEN (CASE WHEN (traits ->> '{key}') ~ "
    "'^[ \\t\\n\\r]*[+-]?[0-9]{{1,15}}(\\.[0-9]{{1,15}})?[ \\t\\n\\r]*$' "
    "THEN ((traits ->> '{key}'))::float8 END) END)))"
)
INDEXES = [
    (name, field, "number", _NUMBER.format(name=name, key=field.split(".", 1)[1]))
    for name, field in (
        ("profile_trait_age", "profile.age"),
        ("profile_trait_lifetime_value", "profile.lifetime_value"),
    )
]


def _rebuild(schema_editor, indexes):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _field, _type, sql in indexes:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _rebuild(schema_editor, INDEXES)


def backward(apps, schema_editor):
    names = {name for name, *_ in INDEXES}
    _rebuild(schema_editor, [i for i in PREVIOUS.INDEXES if i[0] in names])


class Migration(migrations.Migration):
    dependencies = [("segments", "0005_profile_trait_indexes")]
    operations = [migrations.RunPython(forward, backward)]
