from django.db import migrations


class Migration(migrations.Migration):
    """Placeholder: the PostgreSQL hash function for rollouts goes here."""

    dependencies = [("segments", "0001_initial")]
    operations = []
