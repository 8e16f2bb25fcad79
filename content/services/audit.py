"""The audit log of content changes: who is recorded as the actor, and the entry that both
draft deletes and publishing write.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from content.models import AuditEntry
from content.models.slots import Slot


def actor(*, user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    """The user to record, or None for anonymous and system (scheduled) changes."""
    return user if user is not None and user.is_authenticated else None


def audit_log(
    *,
    slot: Slot,
    action: str,
    user: AbstractBaseUser | None,
    revision_number: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        site_id=slot.site_id,
        actor=actor(user=user),
        action=action,
        slot_kind=slot.slot_kind,
        slot_key=slot.key,
        revision_number=revision_number,
        details=details or {},
        **{slot.slot_kind: slot},
    )
