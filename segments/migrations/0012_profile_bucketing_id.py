from django.db import migrations, models


def existing_people_keep_their_buckets(apps, schema_editor):
    # Rollouts hashed the user id of stored people until now: fixing it as their bucketing
    # id moves nobody.
    Profile = apps.get_model("segments", "Profile")
    Profile.objects.filter(bucketing_id="").update(bucketing_id=models.F("user_id"))


class Migration(migrations.Migration):
    dependencies = [("segments", "0011_segment_jobs")]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="bucketing_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="profile",
            name="experiment_assignments",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(existing_people_keep_their_buckets, migrations.RunPython.noop),
    ]
