"""The audit log of one slot (who published, unpublished, rolled back, scheduled or deleted
it), newest first, with the actors loaded.
"""

from __future__ import annotations

from django.db.models import QuerySet

from content.models import AuditEntry
from content.models.slots import Slot


def slot_audit(*, slot: Slot) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(**{slot.slot_kind: slot}).select_related("actor")
