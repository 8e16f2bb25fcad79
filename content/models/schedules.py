"""Publish schedules: a publish or an unpublish of one slot planned for a time. A scheduled
publish keeps the draft as it was when scheduled (`snapshot`); the beat task runs due schedules
and records whether each is done or failed (pending → done / failed / cancelled).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from content.models.slots import Placement, Screen, Slot
from tenancy.models import SiteScopedModel


class ScheduleAction(models.TextChoices):
    PUBLISH = "publish", _("Publish")
    UNPUBLISH = "unpublish", _("Unpublish")


class ScheduleStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class PublishSchedule(SiteScopedModel):
    """Publish (a snapshot frozen when scheduled) or unpublish a slot at `run_at`."""

    placement = models.ForeignKey(
        Placement, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    screen = models.ForeignKey(
        Screen, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    action = models.CharField(_("action"), max_length=16, choices=ScheduleAction.choices)
    run_at = models.DateTimeField(_("run at"))
    snapshot = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="For publish: the draft as it was when scheduled.",
    )
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ScheduleStatus.choices, default=ScheduleStatus.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("publish schedule")
        verbose_name_plural = _("publish schedules")
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
