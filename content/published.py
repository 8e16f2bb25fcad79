"""The published configuration of a site as plain, immutable data (no ORM): `PublishedSite` →
`PublishedSlot` → `PublishedVariant` (→ `PublishedTranslation` per language), built from
revision snapshots.
`content.selectors.configuration` loads it; delivery keeps it in memory and
`content.resolution` picks variants from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PublishedTranslation:
    language: str  # the BCP 47 tag as editors saved it, e.g. "fr-CA"
    payload: dict  # shaped like the variant's payload


@dataclass(frozen=True)
class PublishedVariant:
    key: str
    name: str
    segment_key: str | None  # None only for the default
    priority: int  # evaluation order ascending: 0/1 first
    starts_at: datetime | None
    ends_at: datetime | None
    payload: dict  # placements: {"kind": ..., "body": ...}; screens: {"design": {...}}
    # Other languages than the site's default, keyed by lower-case tag ("fr-ca").
    translations: Mapping[str, PublishedTranslation] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def is_active(self, now: datetime) -> bool:
        if self.starts_at is not None and now < self.starts_at:
            return False
        return not (self.ends_at is not None and now >= self.ends_at)

    def localized(self, chain: Iterable[str]) -> PublishedTranslation | None:
        """The first translation along `chain` (lower-case tags, best first), or None: the
        base payload, in the site's default language."""
        for language in chain:
            found = self.translations.get(language)
            if found is not None:
                return found
        return None


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
    default_language: str = "en"  # the language of the variants' base payloads
    languages: frozenset[str] = frozenset()  # lower-case tags some variant is translated into


def _parse_dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def variant_from_snapshot(
    data: Mapping[str, Any], slot_kind: str, placement_kind: str = ""
) -> PublishedVariant:
    def payload(content: Mapping[str, Any]) -> dict:
        if slot_kind == "placement":
            return {"kind": placement_kind, "body": content.get("body")}
        return {"design": content.get("design") or {}}

    translations = {
        language.lower(): PublishedTranslation(language, payload(content))
        for language, content in (data.get("translations") or {}).items()
    }
    return PublishedVariant(
        key=data["key"],
        name=data.get("name", data["key"]),
        segment_key=data.get("segment"),
        priority=int(data.get("priority", 100)),
        starts_at=_parse_dt(data.get("starts_at")),
        ends_at=_parse_dt(data.get("ends_at")),
        payload=payload(data),
        translations=MappingProxyType(translations),
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
    *,
    site_id: int,
    version: int,
    placements: list[PublishedSlot],
    screens: list[PublishedSlot],
    default_language: str = "en",
) -> PublishedSite:
    segment_keys = frozenset(
        v.segment_key for slot in (*placements, *screens) for v in slot.targeted if v.segment_key
    )
    languages = frozenset(
        language
        for slot in (*placements, *screens)
        for variant in (*slot.targeted, slot.default)
        for language in variant.translations
    )
    return PublishedSite(
        site_id=site_id,
        version=version,
        placements=MappingProxyType({s.key: s for s in placements}),
        screens=MappingProxyType({s.key: s for s in screens}),
        segment_keys=segment_keys,
        default_language=default_language,
        languages=languages,
    )
