"""What the services of experiments and optimizations share: both change what visitors of
one slot get, so both write the slot's audit log and serialise changes on their row."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from content.models.audit import AuditAction
from content.services.audit import audit_log

Row = TypeVar("Row", bound=models.Model)


def lock_row(row: Row) -> Row:
    """Lock the row and refresh the caller's instance (callers keep using theirs)."""
    type(row).objects.select_for_update().filter(pk=row.pk).exists()
    row.refresh_from_db()
    return row


def slot_audit(
    target: Any,
    *,
    kind: Literal["experiment", "optimization"],
    change: str,
    user: AbstractBaseUser | None,
    details: dict[str, Any] | None = None,
) -> None:
    """An entry in the target slot's audit log, naming the experiment or optimization."""
    audit_log(
        slot=target.slot,
        action=AuditAction.EXPERIMENT,
        user=user,
        details={kind: target.key, "change": change, **(details or {})},
    )
