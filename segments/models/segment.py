from django.conf import settings
from django.db import models
from django.utils import timezone

from tenancy.models import Site


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic (criteria)"
    STATIC = "static", "Static (list of user ids)"


class StaticSource(models.TextChoices):
    UPLOAD = "upload", "Uploaded CSV"
    SNAPSHOT = "snapshot", "Frozen snapshot of a dynamic segment"


class SegmentStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Segment(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="segments")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    static_source = models.CharField(max_length=16, choices=StaticSource.choices, blank=True)
    criteria = models.JSONField(default=dict, blank=True)
    snapshot_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="snapshots",
        help_text="For a frozen snapshot: the dynamic segment it was taken from.",
    )
    status = models.CharField(
        max_length=16, choices=SegmentStatus.choices, default=SegmentStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_segment_key_per_site")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_static(self) -> bool:
        return self.kind == SegmentKind.STATIC


class SegmentRevision(models.Model):
    """History: who changed a segment's criteria (or name, status) and when."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="revisions")
    criteria = models.JSONField(default=dict)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=SegmentStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.segment_id} @ {self.changed_at:%Y-%m-%d %H:%M}"


class StaticMember(models.Model):
    """A member of a static segment, by the site's user id."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="static_members")
    user_id = models.CharField(max_length=255)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "user_id"], name="unique_static_member")
        ]
        indexes = [models.Index(fields=["user_id"])]

    def __str__(self) -> str:
        return self.user_id
