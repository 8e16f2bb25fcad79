"""A slot's history: its draft as a snapshot (the shape revisions store), its live and earlier
revisions, whether the draft differs from what is live, and unified diffs between snapshots.
Publishing freezes `slot_snapshot`; the admin and the API show the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from content.models import ContentVariant, Placement, ScreenVariant
from content.models.revisions import Revision
from content.models.slots import Slot
from content.schemas import pretty
from content.validation import body_value


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def variant_snapshot(
    *, variant: ContentVariant | ScreenVariant, placement_kind: str = ""
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
        data["body"] = _body(placement_kind, variant.body)
        translations = {
            t.language: {"body": _body(placement_kind, t.body)} for t in variant.translations.all()
        }
    else:
        data["design"] = variant.design
        translations = {t.language: {"design": t.design} for t in variant.translations.all()}
    # Only when there are some, so revisions published before localization stay equal to
    # their drafts.
    if translations:
        data["translations"] = translations
    return data


def _body(placement_kind: str, body: str) -> Any:
    try:
        return body_value(placement_kind, body)
    except ValueError:  # invalid JSON in a draft; publishing refuses it anyway
        return body


def slot_snapshot(
    *, slot: Slot, variants: Iterable[ContentVariant | ScreenVariant] | None = None
) -> dict[str, Any]:
    """The current draft of a slot and its variants, in the shape revisions store.

    `variants` are the slot's variants already in hand (ordered by priority, key), e.g.
    prefetched; by default they are loaded.
    """
    if variants is None:
        variants = (
            slot.variants.select_related("segment")
            .prefetch_related("translations")
            .order_by("priority", "key")
        )
    data: dict[str, Any] = {"key": slot.key, "name": slot.name, "description": slot.description}
    if isinstance(slot, Placement):
        data["kind"] = slot.kind
        data["json_schema"] = slot.json_schema
        data["variants"] = [variant_snapshot(variant=v, placement_kind=slot.kind) for v in variants]
    else:
        data["variants"] = [variant_snapshot(variant=v) for v in variants]
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
    *, old: dict[str, Any] | None, new: dict[str, Any] | None, old_label: str, new_label: str
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
        old=revision.snapshot, new=current, old_label=f"r{revision.number}", new_label=label
    )
