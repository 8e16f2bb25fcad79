"""Slots: the named places whose content varies by segment. A `Placement` (e.g. `home_hero`)
holds one piece of content of a `PlacementKind`; a `Screen` (e.g. `home`) holds a whole design.
Both are editable drafts keyed per site and point at the revision being delivered
(`live_revision`); their variants and revisions live in `variants` and `revisions`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from content.validation import schema_problem
from tenancy.models import SiteScopedModel

KEY_HELP = _("Stable identifier used by the delivery API (letters, digits, - and _).")


class PlacementKind(models.TextChoices):
    HTML = "html", "HTML"
    TEXT = "text", _("Plain text")
    JSON = "json", "JSON"
    IMAGE = "image", _("Image with link")


class SlotKind(models.TextChoices):
    PLACEMENT = "placement", _("placement")
    SCREEN = "screen", _("screen")


def live_revision_field(revision_model: str) -> models.ForeignKey:
    """A slot's pointer at the revision being delivered (a Placement's or a Screen's)."""
    return models.ForeignKey(
        revision_model,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("live revision"),
        help_text=_("The revision being delivered; empty when unpublished."),
    )


class Slot(SiteScopedModel):
    key = models.SlugField(_("key"), max_length=100, help_text=KEY_HELP)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

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
        _("kind"), max_length=16, choices=PlacementKind.choices, default=PlacementKind.HTML
    )
    json_schema = models.JSONField(
        null=True,
        blank=True,
        verbose_name=_("JSON Schema"),
        help_text=_("Optional JSON Schema that the bodies of a JSON placement must satisfy."),
    )
    live_revision = live_revision_field("PlacementRevision")

    slot_kind = SlotKind.PLACEMENT

    class Meta(Slot.Meta):
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_placement_key_per_site")
        ]

    def clean(self) -> None:
        if self.json_schema in ({}, ""):
            self.json_schema = None
        if self.json_schema is not None:
            if self.kind != PlacementKind.JSON:
                raise ValidationError(
                    {"json_schema": _("Only JSON placements take a JSON Schema.")}
                )
            problem = schema_problem(self.json_schema)
            if problem:
                raise ValidationError({"json_schema": problem})


class Screen(Slot):
    """An app or page screen whose whole design can vary by segment, e.g. `home`."""

    live_revision = live_revision_field("ScreenRevision")

    slot_kind = SlotKind.SCREEN

    class Meta(Slot.Meta):
        verbose_name = _("screen")
        verbose_name_plural = _("screens")
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="unique_screen_key_per_site")
        ]
