"""Counter specs for the segments that were already active before behavioural counters
existed: without them those sites would keep scanning recent events until a segment
changed. The periodic `segments.counters_backfill_pending` task backfills them."""

from django.db import migrations


def create_specs(apps, schema_editor):
    from segments.criteria.counters import specs_of_rules
    from segments.selectors.definitions import site_segment_rules

    Site = apps.get_model("tenancy", "Site")
    Segment = apps.get_model("segments", "Segment")
    Profile = apps.get_model("segments", "Profile")
    CounterSpec = apps.get_model("segments", "CounterSpec")
    site_ids = Segment.objects.values_list("site_id", flat=True).distinct()
    for site_id in Site.objects.filter(id__in=site_ids).values_list("id", flat=True):
        rules, _broken = site_segment_rules(site=site_id)
        wanted = specs_of_rules(rules.values())
        if not wanted:
            continue
        total = Profile.objects.filter(site_id=site_id, consent=True).count()
        CounterSpec.objects.bulk_create(
            [
                CounterSpec(site_id=site_id, key=key, definition=spec.definition, total=total)
                for key, spec in wanted.items()
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("segments", "0009_behaviour_counters")]
    operations = [migrations.RunPython(create_specs, migrations.RunPython.noop)]
