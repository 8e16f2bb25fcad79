"""The published configuration of a site as plain, immutable data (no ORM): `PublishedSite` →
`PublishedSlot` → `PublishedVariant`, built from revision snapshots.
`content.selectors.configuration` loads it; delivery keeps it in memory and
`content.resolution` picks variants from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PublishedVariant:
    key: str
    name: str
    segment_key: str | None  # None only for the default
    priority: int  # evaluation order ascending: 0/1 first
    starts_at: datetime | None
    ends_at: datetime | None
    payload: dict  # placements: {"kind": ..., "body": ...}; screens: {"design": {...}}

    def is_active(self, now: datetime) -> bool:
        if self.starts_at is not None and now < self.starts_at:
            return False
        return not (self.ends_at is not None and now >= self.ends_at)


@dataclass(frozen=True)
class PublishedSlot:
    key: str
    kind: str  # "placement" | "screen"
    revision: int  # revision number that is live
    targeted: tuple[PublishedVariant, ...]  # non-default variants in evaluation order
    default: PublishedVariant


@dataclass(frozen=True)
class PublishedSite:
    site_id: int
    version: int  # Site.config_version at load time
    placements: Mapping[str, PublishedSlot]
    screens: Mapping[str, PublishedSlot]
    segment_keys: frozenset[str]  # segments the live variants target


def _parse_dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def variant_from_snapshot(
    data: Mapping[str, Any], slot_kind: str, placement_kind: str = ""
) -> PublishedVariant:
    if slot_kind == "placement":
        payload = {"kind": placement_kind, "body": data.get("body")}
    else:
        payload = {"design": data.get("design") or {}}
    return PublishedVariant(
        key=data["key"],
        name=data.get("name", data["key"]),
        segment_key=data.get("segment"),
        priority=int(data.get("priority", 100)),
        starts_at=_parse_dt(data.get("starts_at")),
        ends_at=_parse_dt(data.get("ends_at")),
        payload=payload,
    )


def slot_from_snapshot(snapshot: Mapping[str, Any], slot_kind: str, revision: int) -> PublishedSlot:
    """A slot from a revision snapshot (see `content.selectors.revisions.slot_snapshot`)."""
    variants = [
        variant_from_snapshot(v, slot_kind, snapshot.get("kind", ""))
        for v in snapshot.get("variants", [])
    ]
    defaults = [v for v in variants if v.segment_key is None]
    if len(defaults) != 1:
        raise ValueError(
            f"{slot_kind} {snapshot.get('key')!r} r{revision} needs exactly one default"
        )
    targeted = tuple(
        sorted((v for v in variants if v.segment_key), key=lambda v: (v.priority, v.key))
    )
    return PublishedSlot(
        key=snapshot["key"],
        kind=slot_kind,
        revision=revision,
        targeted=targeted,
        default=defaults[0],
    )


def site_from_slots(
    *, site_id: int, version: int, placements: list[PublishedSlot], screens: list[PublishedSlot]
) -> PublishedSite:
    segment_keys = frozenset(
        v.segment_key for slot in (*placements, *screens) for v in slot.targeted if v.segment_key
    )
    return PublishedSite(
        site_id=site_id,
        version=version,
        placements=MappingProxyType({s.key: s for s in placements}),
        screens=MappingProxyType({s.key: s for s in screens}),
        segment_keys=segment_keys,
    )
