"""Reads: draft and published snapshots, diffs, and the published configuration of a site."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from django.db.models import F, QuerySet

from content.models import (
    AuditEntry,
    ContentVariant,
    Placement,
    PlacementRevision,
    PublishSchedule,
    Screen,
    ScreenRevision,
    ScreenVariant,
)
from content.models.revisions import Revision
from content.models.schedules import ScheduleStatus
from content.models.slots import Slot, SlotKind
from content.published import PublishedSite, PublishedSlot, site_from_slots, slot_from_snapshot
from content.schemas import pretty
from content.validation import body_value
from tenancy.models import Site


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def variant_snapshot(
    variant: ContentVariant | ScreenVariant, *, placement_kind: str = ""
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": variant.key,
        "name": variant.name,
        "segment": variant.segment.key if variant.segment_id else None,
        "priority": variant.priority,
        "starts_at": _iso(variant.starts_at),
        "ends_at": _iso(variant.ends_at),
    }
    if isinstance(variant, ContentVariant):
        try:
            data["body"] = body_value(placement_kind, variant.body)
        except ValueError:  # invalid JSON in a draft; publishing refuses it anyway
            data["body"] = variant.body
    else:
        data["design"] = variant.design
    return data


def slot_snapshot(*, slot: Slot) -> dict[str, Any]:
    """The current draft of a slot and its variants, in the shape revisions store."""
    return _snapshot(slot, slot.variants.select_related("segment").order_by("priority", "key"))


def _snapshot(slot: Slot, variants: Iterable[ContentVariant | ScreenVariant]) -> dict[str, Any]:
    """`slot_snapshot` from variants already in hand (ordered by priority, key)."""
    data: dict[str, Any] = {"key": slot.key, "name": slot.name, "description": slot.description}
    if isinstance(slot, Placement):
        data["kind"] = slot.kind
        data["json_schema"] = slot.json_schema
        data["variants"] = [variant_snapshot(v, placement_kind=slot.kind) for v in variants]
    else:
        data["variants"] = [variant_snapshot(v) for v in variants]
    return data


def slot_live_revision(*, slot: Slot) -> Revision | None:
    """The live revision; no query when the slot was loaded with `select_related`."""
    return slot.live_revision


def slot_revisions(*, slot: Slot) -> QuerySet[Revision]:
    return slot.revisions.select_related("created_by").order_by("-number")


def slot_revision_get(*, slot: Slot, number: int) -> Revision | None:
    return slot.revisions.select_related("created_by").filter(number=number).first()


def slot_has_unpublished_changes(*, slot: Slot) -> bool:
    live = slot_live_revision(slot=slot)
    return live is None or live.snapshot != slot_snapshot(slot=slot)


def snapshot_diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None, *, old_label: str, new_label: str
) -> str:
    """A unified diff of two snapshots as pretty, key-sorted JSON ('' when equal)."""
    old_lines = pretty(old).splitlines() if old is not None else []
    new_lines = pretty(new).splitlines() if new is not None else []
    return "\n".join(
        difflib.unified_diff(
            old_lines, new_lines, fromfile=old_label, tofile=new_label, lineterm="", n=3
        )
    )


def revision_diff(*, revision: Revision, against: str = "draft") -> str:
    """Diff from `revision` to the current draft (`against="draft"`) or the live revision."""
    slot = revision.parent
    if against == "live":
        live = slot_live_revision(slot=slot)
        current = live.snapshot if live else None
        label = f"live r{live.number}" if live else "live (unpublished)"
    else:
        current, label = slot_snapshot(slot=slot), "current draft"
    return snapshot_diff(
        revision.snapshot, current, old_label=f"r{revision.number}", new_label=label
    )


def published_site_load(*, site_id: int) -> PublishedSite:
    """The site's delivered configuration, from live revisions only. Three queries."""
    version = Site.objects.values_list("config_version", flat=True).get(pk=site_id)
    placements = [
        slot_from_snapshot(snapshot, SlotKind.PLACEMENT, number)
        for snapshot, number in PlacementRevision.objects.filter(
            placement__site_id=site_id, placement__live_revision=F("pk")
        ).values_list("snapshot", "number")
    ]
    screens = [
        slot_from_snapshot(snapshot, SlotKind.SCREEN, number)
        for snapshot, number in ScreenRevision.objects.filter(
            screen__site_id=site_id, screen__live_revision=F("pk")
        ).values_list("snapshot", "number")
    ]
    return site_from_slots(site_id=site_id, version=version, placements=placements, screens=screens)


def draft_site_load(*, site_id: int) -> tuple[PublishedSite, dict[str, str]]:
    """The drafts as if they were all published now (for previews), and slots skipped with why."""
    version = Site.objects.values_list("config_version", flat=True).get(pk=site_id)
    skipped: dict[str, str] = {}
    built: dict[str, list[PublishedSlot]] = {"placement": [], "screen": []}
    for model, kind in ((Placement, SlotKind.PLACEMENT), (Screen, SlotKind.SCREEN)):
        slots = model.objects.filter(site_id=site_id).prefetch_related("variants__segment")
        for slot in slots:
            # The prefetched variants keep the model's ordering (priority, key).
            snapshot = _snapshot(slot, slot.variants.all())
            try:
                built[kind].append(slot_from_snapshot(snapshot, kind, 0))
            except ValueError:
                skipped[f"{kind}:{slot.key}"] = "no default variant"
    return (
        site_from_slots(
            site_id=site_id, version=version, placements=built["placement"], screens=built["screen"]
        ),
        skipped,
    )


def slot_audit(*, slot: Slot) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(**{slot.slot_kind: slot}).select_related("actor")


def slot_schedules(*, slot: Slot) -> QuerySet[PublishSchedule]:
    return slot.schedules.select_related("created_by").order_by("-run_at")


def due_schedules(*, now: Any) -> QuerySet[PublishSchedule]:
    return PublishSchedule.objects.filter(status=ScheduleStatus.PENDING, run_at__lte=now).order_by(
        "run_at", "pk"
    )
