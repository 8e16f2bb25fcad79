"""Revisions: immutable, numbered snapshots of a slot and all its variants, frozen when the slot
is published (or rolled back, or published by a schedule). The slot's `live_revision` is the
one delivered; older ones stay for history, diffs and rollback. Saving a revision twice is
refused.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from content.models.slots import Placement, Screen, Slot


class Revision(models.Model):
    """An immutable, published snapshot of a slot and all its variants."""

    number = models.PositiveIntegerField(verbose_name=_("number"))
    snapshot = models.JSONField(verbose_name=_("snapshot"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    note = models.CharField(max_length=500, blank=True, verbose_name=_("note"))
    restored_from = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("For rollbacks: the revision number that was restored."),
        verbose_name=_("restored from"),
    )

    parent_field: str = ""

    class Meta:
        abstract = True
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.parent} r{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError(_("Published revisions are immutable."))
        super().save(*args, **kwargs)

    @property
    def parent(self) -> Slot:
        return getattr(self, self.parent_field)


class PlacementRevision(Revision):
    placement = models.ForeignKey(
        Placement, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("placement")
    )

    parent_field = "placement"

    class Meta(Revision.Meta):
        verbose_name = _("placement revision")
        verbose_name_plural = _("placement revisions")
        constraints = [
            models.UniqueConstraint(
                fields=["placement", "number"], name="unique_placement_revision_number"
            )
        ]


class ScreenRevision(Revision):
    screen = models.ForeignKey(
        Screen, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("screen")
    )

    parent_field = "screen"

    class Meta(Revision.Meta):
        verbose_name = _("screen revision")
        verbose_name_plural = _("screen revisions")
        constraints = [
            models.UniqueConstraint(
                fields=["screen", "number"], name="unique_screen_revision_number"
            )
        ]
