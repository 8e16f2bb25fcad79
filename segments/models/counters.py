from django.db import models
from django.utils import timezone

from tenancy.models import Site


class CounterState(models.TextChoices):
    BACKFILLING = "backfilling"
    READY = "ready"


class CounterSpec(models.Model):
    """A behavioural counter an active segment's event condition reads (one per distinct
    event name, property filter and kept count; segments.criteria.counters). Ingest keeps
    it up to date from the moment it exists; decide reads it once its backfill from the
    stored events is complete (`state` ready), and scans recent events until then."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=32)
    definition = models.JSONField(help_text="Event name, property filter and kept count.")
    state = models.CharField(
        max_length=16, choices=CounterState.choices, default=CounterState.BACKFILLING
    )
    done = models.PositiveIntegerField(default=0, help_text="Profiles backfilled.")
    total = models.PositiveIntegerField(default=0, help_text="Profiles to backfill.")
    cursor = models.BigIntegerField(default=0, help_text="Last profile id backfilled.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site", "key"]
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_counter_spec_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.definition.get('event', '?')} ({self.key})"
