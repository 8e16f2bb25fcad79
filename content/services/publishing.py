"""Publishing: freezing a draft into a revision, unpublishing, rollback, and scheduling
(including running due schedules). Every change writes an audit entry and bumps the site's
configuration version so delivery reloads its snapshot.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from content.models import (
    ContentVariant,
    ContentVariantTranslation,
    Placement,
    PublishSchedule,
    ScreenVariant,
    ScreenVariantTranslation,
)
from content.models.audit import AuditAction
from content.models.revisions import Revision
from content.models.schedules import ScheduleAction, ScheduleStatus
from content.models.slots import PlacementKind, Slot
from content.selectors.revisions import slot_snapshot
from content.selectors.schedules import due_schedules
from content.services.audit import actor, audit_log
from segments.models import Segment
from tenancy.services import site_config_bump


def _lock(slot: Slot) -> Slot:
    return type(slot).objects.select_for_update().get(pk=slot.pk)


def slot_validate(*, slot: Slot) -> dict[str, Any]:
    """The draft's snapshot, after checking it can be published (raises ValidationError)."""
    variants = list(slot.variants.select_related("segment").prefetch_related("translations"))
    errors: dict[str, list[str]] = {}
    defaults = [v for v in variants if v.segment_id is None]
    if len(defaults) != 1:
        errors["variants"] = [
            f"Exactly one default variant (no segment) is needed; there are {len(defaults)}."
        ]
    for variant in variants:
        try:
            variant.full_clean()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(f"variants.{variant.key}.{field}", []).extend(messages)
        for translation in variant.translations.all():
            try:
                translation.full_clean()
            except ValidationError as exc:
                prefix = f"variants.{variant.key}.translations.{translation.language}"
                for field, messages in exc.message_dict.items():
                    errors.setdefault(f"{prefix}.{field}", []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return slot_snapshot(slot=slot)


def _publish_snapshot(
    slot: Slot,
    snapshot: dict[str, Any],
    *,
    user: AbstractBaseUser | None,
    note: str = "",
    restored_from: int | None = None,
    action: str = AuditAction.PUBLISH,
    details: dict[str, Any] | None = None,
) -> Revision:
    number = (slot.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    revision = slot.revisions.create(
        number=number,
        snapshot=snapshot,
        created_by=actor(user=user),
        note=note,
        restored_from=restored_from,
    )
    slot.live_revision = revision
    slot.save(update_fields=["live_revision", "updated_at"])
    audit_details = {"note": note} if note else {}
    if restored_from is not None:
        audit_details["restored_from"] = restored_from
    audit_details.update(details or {})
    audit_log(slot=slot, action=action, user=user, revision_number=number, details=audit_details)
    site_config_bump(site_id=slot.site_id)
    return revision


def slot_publish(*, slot: Slot, user: AbstractBaseUser | None = None, note: str = "") -> Revision:
    """Freeze the draft into a new immutable revision and make it live."""
    with transaction.atomic():
        locked = _lock(slot)
        snapshot = slot_validate(slot=locked)
        revision = _publish_snapshot(locked, snapshot, user=user, note=note)
    slot.live_revision = revision
    return revision


def slot_unpublish(*, slot: Slot, user: AbstractBaseUser | None = None, note: str = "") -> Slot:
    """Stop delivering the slot (its revisions stay, it can be published or rolled back again)."""
    with transaction.atomic():
        locked = _lock(slot)
        if locked.live_revision_id is None:
            raise ValidationError("This is not published.")
        _unpublish_locked(locked, user=user, details={"note": note} if note else {})
    slot.live_revision = None
    return slot


def _unpublish_locked(slot: Slot, *, user: AbstractBaseUser | None, details: dict) -> None:
    """Take a locked, live slot off delivery: audit entry and configuration bump."""
    number = slot.live_revision.number
    slot.live_revision = None
    slot.save(update_fields=["live_revision", "updated_at"])
    audit_log(
        slot=slot, action=AuditAction.UNPUBLISH, user=user, revision_number=number, details=details
    )
    site_config_bump(site_id=slot.site_id)


def _restore_drafts(slot: Slot, snapshot: dict[str, Any]) -> None:
    """Make the drafts equal to a snapshot (slot fields and all variants)."""
    keys = {v["segment"] for v in snapshot.get("variants", []) if v.get("segment")}
    segments = {s.key: s for s in Segment.objects.filter(site_id=slot.site_id, key__in=keys)}
    missing = sorted(keys - set(segments))
    if missing:
        raise ValidationError(f"Segments no longer exist: {', '.join(missing)}.")
    slot.name = snapshot.get("name", slot.name)
    slot.description = snapshot.get("description", slot.description)
    if isinstance(slot, Placement):
        slot.kind = snapshot.get("kind", slot.kind)
        slot.json_schema = snapshot.get("json_schema")
    slot.save()
    slot.variants.all().delete()
    for data in snapshot.get("variants", []):
        fields = {
            "key": data["key"],
            "name": data.get("name", data["key"]),
            "segment": segments.get(data.get("segment")) if data.get("segment") else None,
            "priority": data.get("priority", 100),
            "starts_at": datetime.fromisoformat(data["starts_at"])
            if data.get("starts_at")
            else None,
            "ends_at": datetime.fromisoformat(data["ends_at"]) if data.get("ends_at") else None,
        }
        translations = (data.get("translations") or {}).items()
        if isinstance(slot, Placement):
            variant = ContentVariant.objects.create(
                placement=slot, body=_stored_body(slot, data.get("body")), **fields
            )
            ContentVariantTranslation.objects.bulk_create(
                ContentVariantTranslation(
                    variant=variant, language=language, body=_stored_body(slot, value.get("body"))
                )
                for language, value in translations
            )
        else:
            variant = ScreenVariant.objects.create(
                screen=slot, design=data.get("design") or {}, **fields
            )
            ScreenVariantTranslation.objects.bulk_create(
                ScreenVariantTranslation(
                    variant=variant, language=language, design=value.get("design") or {}
                )
                for language, value in translations
            )


def _stored_body(placement: Placement, body: Any) -> str:
    """A snapshot's body as a draft stores it (JSON bodies as indented text)."""
    if placement.kind in (PlacementKind.JSON, PlacementKind.IMAGE) and not isinstance(body, str):
        body = json.dumps(body, indent=2, ensure_ascii=False)
    return body or ""


def slot_rollback(
    *, slot: Slot, revision: Revision | int, user: AbstractBaseUser | None = None, note: str = ""
) -> Revision:
    """Restore an earlier revision: drafts become its snapshot, published as a new revision."""
    original = slot
    with transaction.atomic():
        slot = _lock(slot)
        if not isinstance(revision, Revision):
            found = slot.revisions.filter(number=revision).first()
            if found is None:
                raise ValidationError({"revision": f"There is no revision {revision}."})
            revision = found
        if getattr(revision, f"{slot.slot_kind}_id") != slot.pk:
            raise ValidationError({"revision": "That revision belongs to another slot."})
        _restore_drafts(slot, revision.snapshot)
        new = _publish_snapshot(
            slot,
            slot_snapshot(slot=slot),
            user=user,
            note=note or f"Rollback to r{revision.number}",
            restored_from=revision.number,
            action=AuditAction.ROLLBACK,
        )
    original.refresh_from_db()
    return new


def slot_schedule(
    *,
    slot: Slot,
    action: str,
    run_at: datetime,
    user: AbstractBaseUser | None = None,
    note: str = "",
    now: datetime | None = None,
) -> PublishSchedule:
    """Publish (the draft as it is now) or unpublish the slot at `run_at`."""
    action = ScheduleAction(action)
    now = now or timezone.now()
    if timezone.is_naive(run_at):
        raise ValidationError({"run_at": "Give a time zone (e.g. 2026-12-01T09:00:00Z)."})
    if run_at <= now:
        raise ValidationError({"run_at": "Choose a time in the future."})
    snapshot = slot_validate(slot=slot) if action == ScheduleAction.PUBLISH else None
    with transaction.atomic():
        schedule = PublishSchedule.objects.create(
            site_id=slot.site_id,
            action=action,
            run_at=run_at,
            snapshot=snapshot,
            note=note,
            created_by=actor(user=user),
            **{slot.slot_kind: slot},
        )
        audit_log(
            slot=slot,
            action=AuditAction.SCHEDULE,
            user=user,
            details={"schedule": schedule.pk, "action": action.value, "run_at": run_at.isoformat()},
        )
    return schedule


def publish_schedule_cancel(
    *, schedule: PublishSchedule, user: AbstractBaseUser | None = None
) -> PublishSchedule:
    with transaction.atomic():
        schedule = PublishSchedule.objects.select_for_update().get(pk=schedule.pk)
        if schedule.status != ScheduleStatus.PENDING:
            raise ValidationError(f"This schedule is {schedule.status}, not pending.")
        schedule.status = ScheduleStatus.CANCELLED
        schedule.save(update_fields=["status"])
        audit_log(
            slot=schedule.slot,
            action=AuditAction.SCHEDULE_CANCEL,
            user=user,
            details={"schedule": schedule.pk, "action": schedule.action},
        )
    return schedule


def _run_schedule(schedule: PublishSchedule) -> None:
    slot = _lock(schedule.slot)
    details = {"schedule": schedule.pk}
    user = schedule.created_by
    if schedule.action == ScheduleAction.PUBLISH:
        note = schedule.note or f"Scheduled publish #{schedule.pk}"
        _publish_snapshot(slot, schedule.snapshot, user=user, note=note, details=details)
    elif slot.live_revision_id is not None:
        _unpublish_locked(slot, user=user, details=details)


def publish_schedules_run_due(*, now: datetime | None = None) -> list[PublishSchedule]:
    """Run every pending schedule whose time has come (the beat task calls this each minute)."""
    now = now or timezone.now()
    done = []
    ids = list(due_schedules(now=now).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            schedule = (
                PublishSchedule.objects.select_for_update(of=("self",))
                .filter(pk=pk, status=ScheduleStatus.PENDING)
                .select_related("placement", "screen", "created_by")
                .first()
            )
            if schedule is None:  # another worker took it
                continue
            try:
                with transaction.atomic():
                    _run_schedule(schedule)
                schedule.status = ScheduleStatus.DONE
            except Exception as exc:
                schedule.status = ScheduleStatus.FAILED
                schedule.error = str(exc)[:2000]
            schedule.executed_at = now
            schedule.save(update_fields=["status", "error", "executed_at"])
            done.append(schedule)
    return done
