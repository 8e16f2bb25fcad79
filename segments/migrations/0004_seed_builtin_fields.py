"""Seed the built-in field catalog for sites that existed before the catalog was seeded.

New sites get it from the `site_created` receiver; `field_catalog_seed` is idempotent, and so
is this migration (it only adds rows that are missing).
"""

from django.db import migrations


def seed_builtin_fields(apps, schema_editor):
    try:
        from segments.selectors.catalog import builtin_field_specs
    except ImportError:  # the criteria package is not importable: nothing to seed from
        return
    Site = apps.get_model("tenancy", "Site")
    Field = apps.get_model("segments", "Field")
    specs = builtin_field_specs()
    for site_id in Site.objects.values_list("pk", flat=True):
        existing = set(Field.objects.filter(site_id=site_id).values_list("path", flat=True))
        Field.objects.bulk_create(
            [
                Field(site_id=site_id, builtin=True, **spec)
                for spec in specs
                if spec["path"] not in existing
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("segments", "0003_segment_snapshot_of")]
    operations = [migrations.RunPython(seed_builtin_fields, migrations.RunPython.noop)]
