"""Placements, screens, their variants, published revisions, schedules and the audit log.

Editors change drafts (the Placement/Screen rows and their variants). Publishing freezes a
snapshot of a slot and all its variants into an immutable revision; only the live revision
(`live_revision`) is ever delivered.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q

from content.sanitize import is_safe_url, sanitize_html
from content.schemas import (
    IMAGE_BODY_SCHEMA,
    MAX_BODY_BYTES,
    MAX_DESIGN_BYTES,
    MAX_SCHEMA_BYTES,
    byte_size,
    check_schema,
    default_design_schema,
    schema_errors,
)
from tenancy.models import Site, SiteScopedModel

KEY_HELP = "Stable identifier used by the delivery API (letters, digits, - and _)."


class PlacementKind(models.TextChoices):
    HTML = "html", "HTML"
    TEXT = "text", "Plain text"
    JSON = "json", "JSON"
    IMAGE = "image", "Image with link"


class SlotKind(models.TextChoices):
    PLACEMENT = "placement"
    SCREEN = "screen"


class DesignSchema(models.Model):
    """The JSON Schema that every screen design of a site must satisfy."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="design_schema")
    schema = models.JSONField(default=default_design_schema)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "design schema"

    def __str__(self) -> str:
        return f"Design schema of {self.site}"

    def clean(self) -> None:
        if byte_size(self.schema) > MAX_SCHEMA_BYTES:
            raise ValidationError(
                {"schema": f"Schemas are limited to {MAX_SCHEMA_BYTES // 1024} KB."}
            )
        problem = check_schema(self.schema)
        if problem:
            raise ValidationError({"schema": f"Not a valid JSON Schema: {problem}"})


# --- slots -----------------------------------------------------------------------------------


class Slot(SiteScopedModel):
    key = models.SlugField(max_length=100, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    slot_kind: str = ""

    class Meta:
        abstract = True
        ordering = ["site", "key"]

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def is_live(self) -> bool:
        return self.live_revision_id is not None


class Placement(Slot):
    """A named slot on a page or app screen, e.g. `home_hero`."""

    kind = models.CharField(
        max_length=16, choices=PlacementKind.choices, default=PlacementKind.HTML
    )
    json_schema = models.JSONField(
        null=True,
        blank=True,
        help_text="Optional JSON Schema that the bodies of a JSON placement must satisfy.",
    )
    live_revision = models.ForeignKey(
        "PlacementRevision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The revision being delivered; empty when unpublished.",
    )

    slot_kind = SlotKind.PLACEMENT

    class Meta(Slot.Meta):
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_placement_key_per_site")
        ]

    def clean(self) -> None:
        if self.json_schema in ({}, ""):
            self.json_schema = None
        if self.json_schema is not None:
            if self.kind != PlacementKind.JSON:
                raise ValidationError({"json_schema": "Only JSON placements take a JSON Schema."})
            if byte_size(self.json_schema) > MAX_SCHEMA_BYTES:
                raise ValidationError(
                    {"json_schema": f"Schemas are limited to {MAX_SCHEMA_BYTES // 1024} KB."}
                )
            problem = check_schema(self.json_schema)
            if problem:
                raise ValidationError({"json_schema": f"Not a valid JSON Schema: {problem}"})


class Screen(Slot):
    """An app or page screen whose whole design can vary by segment, e.g. `home`."""

    live_revision = models.ForeignKey(
        "ScreenRevision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The revision being delivered; empty when unpublished.",
    )

    slot_kind = SlotKind.SCREEN

    class Meta(Slot.Meta):
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_screen_key_per_site")
        ]


# --- variants --------------------------------------------------------------------------------


class Variant(models.Model):
    key = models.SlugField(max_length=100, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    segment = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="Who sees this variant. Empty: the default, shown to everyone else.",
    )
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower numbers are tried first; the default is always tried last."
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    parent_field: str = ""

    class Meta:
        abstract = True
        ordering = ["priority", "key"]

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def parent(self) -> Slot | None:
        """The placement or screen (possibly unsaved, while an admin form adds both)."""
        try:
            return getattr(self, self.parent_field)
        except ObjectDoesNotExist:
            return None

    @property
    def site_id(self) -> int | None:
        parent = self.parent
        return parent.site_id if parent is not None else None

    @property
    def is_default(self) -> bool:
        return self.segment_id is None

    def clean_targeting(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        parent = self.parent
        if self.segment_id and parent is not None and self.segment.site_id != parent.site_id:
            errors.setdefault("segment", []).append("Choose a segment of the same site.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors.setdefault("ends_at", []).append("The end must be after the start.")
        if self.segment_id is None and (self.starts_at or self.ends_at):
            errors.setdefault("starts_at", []).append(
                "The default variant is always active; dates apply to targeted variants only."
            )
        return errors


class ContentVariant(Variant):
    """One version of a placement's content, for a segment or (no segment) for everyone else."""

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="variants")
    body = models.TextField(
        blank=True,
        help_text="HTML or text; for JSON and image placements a JSON document "
        '(image: {"src": …, "alt": …, "href": …}).',
    )

    parent_field = "placement"

    class Meta(Variant.Meta):
        constraints = [
            models.UniqueConstraint(fields=["placement", "key"], name="unique_content_variant_key"),
            models.UniqueConstraint(
                fields=["placement"],
                condition=Q(segment__isnull=True),
                name="one_default_content_variant",
            ),
        ]

    def clean(self) -> None:
        errors = self.clean_targeting()
        if self.parent is not None:
            errors.update(body_errors(self.placement, self.body))
            if not errors and self.placement.kind == PlacementKind.HTML:
                self.body = sanitize_html(self.body)
        if errors:
            raise ValidationError(errors)


class ScreenVariant(Variant):
    """One design of a screen, for a segment or (no segment) the default design."""

    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="variants")
    design = models.JSONField(default=dict)

    parent_field = "screen"

    class Meta(Variant.Meta):
        constraints = [
            models.UniqueConstraint(fields=["screen", "key"], name="unique_screen_variant_key"),
            models.UniqueConstraint(
                fields=["screen"],
                condition=Q(segment__isnull=True),
                name="one_default_screen_variant",
            ),
        ]

    def clean(self) -> None:
        errors = self.clean_targeting()
        if self.parent is not None and self.screen.site_id:
            errors.update(design_errors(self.screen.site_id, self.design))
        if errors:
            raise ValidationError(errors)


def body_value(kind: str, body: str) -> Any:
    """What delivery sends: text for HTML/text placements, parsed JSON otherwise."""
    if kind in (PlacementKind.JSON, PlacementKind.IMAGE):
        return json.loads(body) if body.strip() else None
    return body


def body_errors(placement: Placement, body: str) -> dict[str, list[str]]:
    """Problems of a variant body for this placement, keyed by path (`body`, `body.items[0]`)."""
    size = byte_size(body)
    if size > MAX_BODY_BYTES:
        return {"body": [f"The body is {size} bytes; the limit is {MAX_BODY_BYTES // 1024} KB."]}
    if placement.kind not in (PlacementKind.JSON, PlacementKind.IMAGE):
        return {}
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return {"body": [f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."]}
    schema = IMAGE_BODY_SCHEMA if placement.kind == PlacementKind.IMAGE else placement.json_schema
    errors: dict[str, list[str]] = {}
    if schema:
        for path, message in schema_errors(value, schema, root="body"):
            errors.setdefault(path, []).append(message)
    if placement.kind == PlacementKind.IMAGE and not errors:
        for part in ("src", "href"):
            if not is_safe_url(value[part]):
                errors[f"body.{part}"] = ["Use an http(s) URL or a path starting with /."]
    return errors


def design_schema_for(site: Site | int) -> dict[str, Any]:
    site_id = site.pk if isinstance(site, Site) else site
    row = DesignSchema.objects.filter(site_id=site_id).values_list("schema", flat=True).first()
    return row if row else default_design_schema()


def design_errors(site: Site | int, design: Any) -> dict[str, list[str]]:
    size = byte_size(design)
    if size > MAX_DESIGN_BYTES:
        return {
            "design": [f"The design is {size} bytes; the limit is {MAX_DESIGN_BYTES // 1024} KB."]
        }
    errors: dict[str, list[str]] = {}
    for path, message in schema_errors(design, design_schema_for(site), root="design"):
        errors.setdefault(path, []).append(message)
    return errors


# --- revisions -------------------------------------------------------------------------------


class Revision(models.Model):
    """An immutable, published snapshot of a slot and all its variants."""

    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)
    restored_from = models.PositiveIntegerField(
        null=True, blank=True, help_text="For rollbacks: the revision number that was restored."
    )

    parent_field: str = ""

    class Meta:
        abstract = True
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.parent} r{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("Published revisions are immutable.")
        super().save(*args, **kwargs)

    @property
    def parent(self) -> Slot:
        return getattr(self, self.parent_field)


class PlacementRevision(Revision):
    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="revisions")

    parent_field = "placement"

    class Meta(Revision.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["placement", "number"], name="unique_placement_revision_number"
            )
        ]


class ScreenRevision(Revision):
    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="revisions")

    parent_field = "screen"

    class Meta(Revision.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["screen", "number"], name="unique_screen_revision_number"
            )
        ]


# --- scheduling and audit --------------------------------------------------------------------


class ScheduleAction(models.TextChoices):
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"


class ScheduleStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PublishSchedule(SiteScopedModel):
    """Publish (a snapshot frozen when scheduled) or unpublish a slot at `run_at`."""

    placement = models.ForeignKey(
        Placement, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    screen = models.ForeignKey(
        Screen, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    action = models.CharField(max_length=16, choices=ScheduleAction.choices)
    run_at = models.DateTimeField()
    snapshot = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="For publish: the draft as it was when scheduled.",
    )
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=16, choices=ScheduleStatus.choices, default=ScheduleStatus.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(placement__isnull=False, screen__isnull=True)
                | Q(placement__isnull=True, screen__isnull=False),
                name="schedule_targets_one_slot",
            )
        ]
        indexes = [models.Index(fields=["status", "run_at"], name="content_schedule_due")]

    def __str__(self) -> str:
        return f"{self.action} {self.slot} at {self.run_at:%Y-%m-%d %H:%M} UTC"

    @property
    def slot(self) -> Slot:
        return self.placement or self.screen


class AuditAction(models.TextChoices):
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    ROLLBACK = "rollback"
    SCHEDULE = "schedule"
    SCHEDULE_CANCEL = "schedule_cancel"
    DELETE = "delete"


class AuditEntry(SiteScopedModel):
    """Who published, unpublished, rolled back or scheduled what, and when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    slot_kind = models.CharField(max_length=16, choices=SlotKind.choices)
    slot_key = models.CharField(max_length=100)
    placement = models.ForeignKey(
        Placement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    screen = models.ForeignKey(
        Screen, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revision_number = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor or 'system'} {self.action} {self.slot_kind} {self.slot_key}"
