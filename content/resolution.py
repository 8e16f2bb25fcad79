"""Which variant of each placement and screen a visitor gets, and why: the first active targeted
variant whose segment matches, else the default. Pure (no ORM); shared by delivery and the
admin preview.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from content.published import PublishedSite, PublishedSlot, PublishedVariant


@dataclass(frozen=True)
class Resolution:
    variant: PublishedVariant
    reason: dict  # {"kind": "segment", "segment": key} or {"kind": "default"}


DEFAULT_REASON = {"kind": "default"}


def resolve_slot(
    slot: PublishedSlot, is_member: Callable[[str], bool], now: datetime
) -> Resolution:
    """The first targeted variant (by priority) active at `now` whose segment matches.

    Otherwise the default.
    """
    for variant in slot.targeted:
        if variant.is_active(now) and is_member(variant.segment_key):
            return Resolution(variant, {"kind": "segment", "segment": variant.segment_key})
    return Resolution(slot.default, dict(DEFAULT_REASON))


def resolve_all(
    published: PublishedSite,
    is_member: Callable[[str], bool],
    now: datetime,
    *,
    placements: Iterable[str] | None = None,
    screens: Iterable[str] | None = None,
) -> dict[str, dict[str, Resolution]]:
    """`{"placements": {key: Resolution}, "screens": {...}}`.

    `None` asks for all slots; unknown keys are skipped.
    """
    out: dict[str, dict[str, Resolution]] = {}
    for name, slots, wanted in (
        ("placements", published.placements, placements),
        ("screens", published.screens, screens),
    ):
        keys = slots.keys() if wanted is None else [k for k in wanted if k in slots]
        out[name] = {key: resolve_slot(slots[key], is_member, now) for key in keys}
    return out
