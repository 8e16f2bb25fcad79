"""PostgreSQL twins of the SQL functions segments.dbfunctions registers on SQLite.

They must return exactly what segments/criteria/values.py and segments/bucketing.py return
(tests/segments/test_property_sql_agreement.py checks it). Skipped on other databases.
"""

from django.db import migrations

WHEN_RE = (
    r"^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:\.([0-9]{1,6}))?)?"
    r"(Z|([+-])(0[0-9]|1[0-4]):([0-5][0-9]))?)?$"
)

CREATE = r"""
-- FNV-1a 32 over UTF-16 code units (astral characters become surrogate pairs), like JS.
CREATE OR REPLACE FUNCTION personalize_fnv1a32(s text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    h bigint := 2166136261;
    c text;
    cp integer;
BEGIN
    FOREACH c IN ARRAY string_to_array(s, NULL) LOOP
        cp := ascii(c);
        IF cp >= 65536 THEN
            cp := cp - 65536;
            h := ((h # (55296 + (cp >> 10))) * 16777619) & 4294967295;
            h := ((h # (56320 + (cp & 1023))) * 16777619) & 4294967295;
        ELSE
            h := ((h # cp) * 16777619) & 4294967295;
        END IF;
    END LOOP;
    RETURN h;
END
$fn$;

-- GrowthBook hashing v2: fnv1a32(str(fnv1a32(seed || id))) % 10000 / 10000.
CREATE OR REPLACE FUNCTION personalize_hash_unit(seed text, id text) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
    SELECT (personalize_fnv1a32(personalize_fnv1a32(seed || id)::text) % 10000)::float8 / 10000
$fn$;

-- Case folding for case-insensitive compares (per-character lowercase).
CREATE OR REPLACE FUNCTION personalize_lower(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT lower(s) $fn$;

-- Read an ISO date/datetime string: part ts (epoch s), day (epoch of the wall date),
-- hour (local hour), dow (ISO weekday). NULL when the string is not a valid date/time.
CREATE OR REPLACE FUNCTION personalize_when(s text, part text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    m text[];
    d date;
    days numeric;
    secs numeric;
    off numeric := 0;
BEGIN
    m := regexp_match(s, '__WHEN_RE__');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        d := make_date(m[1]::int, m[2]::int, m[3]::int);
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    IF part = 'dow' THEN
        RETURN extract(isodow FROM d);
    END IF;
    IF part = 'hour' THEN
        RETURN coalesce(m[4]::int, 0);
    END IF;
    days := (d - DATE '1970-01-01');
    IF part = 'day' THEN
        RETURN (days * 86400)::float8;
    END IF;
    secs := coalesce(m[4]::numeric, 0) * 3600 + coalesce(m[5]::numeric, 0) * 60
        + coalesce(m[6]::numeric, 0) + coalesce(('0.' || m[7])::numeric, 0);
    IF m[9] IS NOT NULL THEN
        off := (m[10]::numeric * 3600 + m[11]::numeric * 60)
            * (CASE WHEN m[9] = '-' THEN -1 ELSE 1 END);
    END IF;
    RETURN (days * 86400 + secs - off)::float8;
END
$fn$;

-- Compare versions numerically part by part ("17.10" > "17.9"); NULL if unreadable.
CREATE OR REPLACE FUNCTION personalize_version_cmp(a text, b text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    ma text[];
    mb text[];
    pa numeric[];
    pb numeric[];
    x numeric;
    y numeric;
BEGIN
    ma := regexp_match(a, '^v?([0-9]{1,9}(?:\.[0-9]{1,9}){0,7})(?:[-+].*)?$');
    mb := regexp_match(b, '^v?([0-9]{1,9}(?:\.[0-9]{1,9}){0,7})(?:[-+].*)?$');
    IF ma IS NULL OR mb IS NULL THEN
        RETURN NULL;
    END IF;
    pa := string_to_array(ma[1], '.')::numeric[];
    pb := string_to_array(mb[1], '.')::numeric[];
    FOR i IN 1..greatest(array_length(pa, 1), array_length(pb, 1)) LOOP
        x := coalesce(pa[i], 0);
        y := coalesce(pb[i], 0);
        IF x < y THEN
            RETURN -1;
        ELSIF x > y THEN
            RETURN 1;
        END IF;
    END LOOP;
    RETURN 0;
END
$fn$;

-- Haversine distance in km, operation by operation like values.haversine_km.
CREATE OR REPLACE FUNCTION personalize_km(lat1 float8, lng1 float8, lat2 float8, lng2 float8)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
    SELECT 2.0::float8 * 6371.0088::float8 * asin(sqrt(least(1.0::float8,
        sin((lat2 - lat1) * 0.017453292519943295::float8 / 2.0::float8)
          * sin((lat2 - lat1) * 0.017453292519943295::float8 / 2.0::float8)
        + cos(lat1 * 0.017453292519943295::float8) * cos(lat2 * 0.017453292519943295::float8)
          * sin((lng2 - lng1) * 0.017453292519943295::float8 / 2.0::float8)
          * sin((lng2 - lng1) * 0.017453292519943295::float8 / 2.0::float8))))
$fn$;
""".replace("__WHEN_RE__", WHEN_RE)

DROP = """
DROP FUNCTION IF EXISTS personalize_km(float8, float8, float8, float8);
DROP FUNCTION IF EXISTS personalize_version_cmp(text, text);
DROP FUNCTION IF EXISTS personalize_when(text, text);
DROP FUNCTION IF EXISTS personalize_lower(text);
DROP FUNCTION IF EXISTS personalize_hash_unit(text, text);
DROP FUNCTION IF EXISTS personalize_fnv1a32(text);
"""


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # no %-placeholders


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    """SQL functions for criteria (rollout hashing, dates, versions, distances) on PostgreSQL."""

    dependencies = [("segments", "0001_initial")]
    operations = [migrations.RunPython(create_functions, drop_functions, elidable=False)]
