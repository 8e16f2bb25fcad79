"""Variants: the versions of a slot's content, each aimed at one segment or, without a segment,
the default shown to everyone else. A `ContentVariant` carries a placement's body, a
`ScreenVariant` a screen's design. They own the targeting rules (same-site segment, dates,
one default per slot); what a body or design may contain is checked by `content.validation`.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from content.models.slots import KEY_HELP, Placement, PlacementKind, Screen, Slot
from content.sanitize import sanitize_html
from content.validation import body_errors, design_errors


class Variant(models.Model):
    key = models.SlugField(_("key"), max_length=100, help_text=KEY_HELP)
    name = models.CharField(_("name"), max_length=200)
    segment = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        verbose_name=_("segment"),
        help_text=_("Who sees this variant. Empty: the default, shown to everyone else."),
    )
    priority = models.PositiveIntegerField(
        _("priority"),
        default=100,
        help_text=_("Lower numbers are tried first; the default is always tried last."),
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

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
            errors.setdefault("segment", []).append(str(_("Choose a segment of the same site.")))
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors.setdefault("ends_at", []).append(str(_("The end must be after the start.")))
        if self.segment_id is None and (self.starts_at or self.ends_at):
            errors.setdefault("starts_at", []).append(
                str(
                    _(
                        "The default variant is always active; dates apply to targeted "
                        "variants only."
                    )
                )
            )
        return errors


class ContentVariant(Variant):
    """One version of a placement's content, for a segment or (no segment) for everyone else."""

    placement = models.ForeignKey(
        Placement, on_delete=models.CASCADE, related_name="variants", verbose_name=_("placement")
    )
    body = models.TextField(
        _("body"),
        blank=True,
        help_text=_(
            "HTML or text; for JSON and image placements a JSON document "
            '(image: {"src": …, "alt": …, "href": …}).'
        ),
    )

    parent_field = "placement"

    class Meta(Variant.Meta):
        verbose_name = _("content variant")
        verbose_name_plural = _("content variants")
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

    screen = models.ForeignKey(
        Screen, on_delete=models.CASCADE, related_name="variants", verbose_name=_("screen")
    )
    design = models.JSONField(_("design"), default=dict)

    parent_field = "screen"

    class Meta(Variant.Meta):
        verbose_name = _("screen variant")
        verbose_name_plural = _("screen variants")
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
