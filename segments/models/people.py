from django.db import models
from django.utils import timezone

from tenancy.models import Site


class Profile(models.Model):
    """A known person on a site."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="profiles")
    user_id = models.CharField(max_length=255, help_text="The site's own id for the person.")
    traits = models.JSONField(default=dict, blank=True)
    last_context = models.JSONField(default=dict, blank=True)
    # Recent events kept on the row so a known visitor's decide needs one query at most.
    recent_events = models.JSONField(default=list, blank=True, editable=False)
    # Behavioural counters (segments.criteria.counters): per counter spec key, the
    # timestamps of the person's most recent matching events, newest first. Decide reads
    # them in the same query instead of scanning events.
    # (A database default too, so raw inserts and COPY that predate the column still work.)
    counters = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        editable=False,
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    visit_count = models.PositiveIntegerField(default=0)
    consent = models.BooleanField(default=True)
    # The unit rollouts and experiments hash for this person: the anonymous id of the first
    # decide recorded as them (or linked to them), else the user id; empty until then. So
    # a visitor who signs in keeps the rollout buckets and experiment arms of their
    # anonymous id, on every device.
    bucketing_id = models.CharField(max_length=255, blank=True, default="", editable=False)
    # {experiment key: "phase:arm"} of the experiments the person was exposed to, read by
    # decide in its one query so weight changes within a phase never move them.
    experiment_assignments = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "user_id"], name="unique_profile_user_per_site")
        ]
        indexes = [models.Index(fields=["site", "last_seen"])]

    def __str__(self) -> str:
        return self.user_id


class VisitorLink(models.Model):
    """An anonymous visitor id known to belong to a profile."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    visitor_id = models.CharField(max_length=255)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="visitor_links")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "visitor_id"], name="unique_visitor_link")
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} → {self.profile_id}"


class EventKind(models.TextChoices):
    IMPRESSION = "impression"
    CLICK = "click"
    CONVERSION = "conversion"
    CUSTOM = "custom"


class ReasonKind(models.TextChoices):
    """Why the visitor saw the variant an impression or click is about."""

    SEGMENT = "segment"
    EXPERIMENT = "experiment"
    HOLDOUT = "holdout"
    OPTIMIZED = "optimized"
    DEFAULT = "default"


class Event(models.Model):
    """Something a visitor did. Event nodes of criteria count these.

    Impressions, clicks and conversions may carry attribution: the slot (placement or
    screen key), the variant shown and why (`reason` plus `reason_key`: the segment, the
    experiment and arm, or the policy). Analytics' rollups group by these columns."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    visitor_id = models.CharField(max_length=255)
    event_id = models.CharField(  # noqa: DJ001 - NULL keeps the (site, event_id) constraint optional
        max_length=64, null=True, blank=True, help_text="Client id; makes retries idempotent."
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices, default=EventKind.CUSTOM)
    name = models.CharField(max_length=100)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(auto_now_add=True)
    slot = models.CharField(max_length=100, blank=True, default="")
    variant = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=16, blank=True, default="", choices=ReasonKind.choices)
    reason_key = models.CharField(
        max_length=201,
        blank=True,
        default="",
        help_text="Segment, experiment:arm, holdout or policy.",
    )

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["site", "event_id"], name="unique_event_id_per_site"),
        ]
        indexes = [
            models.Index(fields=["profile", "name", "occurred_at"], name="event_profile_name_time"),
            models.Index(fields=["site", "name", "occurred_at"], name="event_site_name_time"),
            models.Index(fields=["site", "visitor_id"], name="event_site_visitor"),
            # Rollups: a day's exposures and clicks, and what arrived since the watermark.
            models.Index(fields=["site", "kind", "occurred_at"], name="event_site_kind_time"),
            models.Index(fields=["site", "received_at"], name="event_site_received"),
        ]

    def __str__(self) -> str:
        return f"{self.name} by {self.visitor_id}"
