"""The audit log: who published, unpublished, rolled back, scheduled or cancelled a schedule
for a slot, deleted a live one or changed an experiment on it, and when. Entries keep the
slot's kind and key, so they outlive the slot (its link is cleared on delete);
`content.services.audit` writes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from content.models.slots import Placement, Screen, SlotKind
from tenancy.models import SiteScopedModel


class AuditAction(models.TextChoices):
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    ROLLBACK = "rollback"
    SCHEDULE = "schedule"
    SCHEDULE_CANCEL = "schedule_cancel"
    DELETE = "delete"
    # An experiment on the slot was created, changed, started, paused, resumed or stopped
    # (`details["change"]` says which): it changes what visitors of the slot get.
    EXPERIMENT = "experiment"


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
