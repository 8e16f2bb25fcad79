from django.db import migrations

# Expression indexes on the built-in profile traits that segments filter on most. Each
# expression is exactly what `to_q()` emits for the field (frozen here; a test checks that
# `profile_index_sql()` still produces the same DDL), so PostgreSQL can use the index for
# eq/in/range conditions. SQLite has no expression indexes on JSON worth having here.
INDEXES = [
    (
        "profile_trait_city",
        "profile.city",
        "string",
        "CREATE INDEX IF NOT EXISTS \"profile_trait_city\" ON segments_profile (site_id, (personalize_lower((CASE WHEN jsonb_typeof((traits -> 'city')) = 'string' THEN (traits ->> 'city') END))))",
    ),
    (
        "profile_trait_country",
        "profile.country",
        "string",
        "CREATE INDEX IF NOT EXISTS \"profile_trait_country\" ON segments_profile (site_id, (personalize_lower((CASE WHEN jsonb_typeof((traits -> 'country')) = 'string' THEN (traits ->> 'country') END))))",
    ),
    (
        "profile_trait_gender",
        "profile.gender",
        "enum",
        "CREATE INDEX IF NOT EXISTS \"profile_trait_gender\" ON segments_profile (site_id, (personalize_lower((CASE WHEN jsonb_typeof((traits -> 'gender')) = 'string' THEN (traits ->> 'gender') END))))",
    ),
    (
        "profile_trait_loyalty_tier",
        "profile.loyalty_tier",
        "enum",
        "CREATE INDEX IF NOT EXISTS \"profile_trait_loyalty_tier\" ON segments_profile (site_id, (personalize_lower((CASE WHEN jsonb_typeof((traits -> 'loyalty_tier')) = 'string' THEN (traits ->> 'loyalty_tier') END))))",
    ),
    (
        "profile_trait_age",
        "profile.age",
        "number",
        "CREATE INDEX IF NOT EXISTS \"profile_trait_age\" ON segments_profile (site_id, ((CASE WHEN jsonb_typeof((traits -> 'age')) = 'number' THEN ((traits ->> 'age'))::float8 END)))",
    ),
    (
        "profile_trait_lifetime_value",
        "profile.lifetime_value",
        "number",
        "CREATE INDEX IF NOT EXISTS \"profile_trait_lifetime_value\" ON segments_profile (site_id, ((CASE WHEN jsonb_typeof((traits -> 'lifetime_value')) = 'number' THEN ((traits ->> 'lifetime_value'))::float8 END)))",
    ),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _name, _field, _type, sql in INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _field, _type, _sql in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("segments", "0004_seed_builtin_fields")]
    operations = [migrations.RunPython(create, drop)]
