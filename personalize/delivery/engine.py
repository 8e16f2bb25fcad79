"""The decision engine: a compiled, immutable per-site Snapshot and `decide()`. Pure: no ORM.

A Snapshot holds what a site has *published*: compiled segment rules, the live slots
(variants in priority order, defaults) and screens. `decide()` evaluates a visitor
document against it. Segment rules are evaluated lazily and at most once per decision,
only for the segments the requested slots actually target (plus every active segment when
`explain` asks for the full list).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from content.published import PublishedSite, PublishedSlot
from content.resolution import resolve_all


class Rule(Protocol):
    def matches(self, doc: Mapping[str, Any]) -> bool: ...

    def explain(self, doc: Mapping[str, Any]) -> dict: ...


@dataclass(frozen=True)
class Snapshot:
    """Everything a worker needs to decide for one site, without touching the database."""

    site_id: int
    version: int
    published: PublishedSite
    rules: Mapping[str, Rule]  # segment key -> compiled rule (targeted + active segments)
    active_segments: tuple[str, ...] = ()  # what `explain` reports membership of
    timezone: str = "UTC"
    broken_segments: Mapping[str, str] = field(default_factory=dict)  # key -> compile error
    built_at: datetime | None = None


def membership(snapshot: Snapshot, doc: Mapping[str, Any]) -> Callable[[str], bool]:
    """`is_member(key)` for one visitor: each rule runs at most once; unknown keys are False."""
    rules = snapshot.rules
    seen: dict[str, bool] = {}

    def is_member(key: str) -> bool:
        hit = seen.get(key)
        if hit is None:
            rule = rules.get(key)
            try:
                hit = bool(rule is not None and rule.matches(doc))
            except Exception:  # a rule must never take a page down: it just does not match
                hit = False
            seen[key] = hit
        return hit

    is_member.seen = seen  # type: ignore[attr-defined]
    return is_member


def _trace(
    slot: PublishedSlot, chosen: str, is_member: Callable[[str], bool], now: datetime
) -> list:
    steps: list[dict[str, Any]] = []
    for variant in slot.targeted:
        active = variant.is_active(now)
        step: dict[str, Any] = {
            "variant": variant.key,
            "segment": variant.segment_key,
            "scheduled": active,
        }
        if active:
            step["matched"] = is_member(variant.segment_key or "")
        steps.append(step)
        if variant.key == chosen:
            break
    if chosen == slot.default.key:
        steps.append({"variant": slot.default.key, "segment": None, "default": True})
    return steps


def decide(
    snapshot: Snapshot,
    doc: Mapping[str, Any],
    *,
    now: datetime,
    placements: tuple[str, ...] | list[str] | None = None,
    screens: tuple[str, ...] | list[str] | None = None,
    explain: bool = False,
) -> dict[str, Any]:
    """The decide response body (minus `visitor_id`) for one visitor document.

    `placements` / `screens` None means all of them (both None: everything); unknown keys
    are listed under `unknown` rather than failing the request.
    """
    if placements is not None and screens is None:
        screens = ()
    elif screens is not None and placements is None:
        placements = ()
    is_member = membership(snapshot, doc)
    published = snapshot.published
    resolved = resolve_all(published, is_member, now, placements=placements, screens=screens)
    out_placements: dict[str, Any] = {}
    for key, res in resolved["placements"].items():
        variant = res.variant
        out_placements[key] = {
            "variant": variant.key,
            "content": variant.payload,
            "reason": res.reason,
        }
    out_screens: dict[str, Any] = {}
    for key, res in resolved["screens"].items():
        variant = res.variant
        out_screens[key] = {
            "variant": variant.key,
            "design": variant.payload.get("design", {}),
            "reason": res.reason,
        }
    body: dict[str, Any] = {"placements": out_placements, "screens": out_screens}
    unknown: dict[str, list[str]] = {}
    if placements:
        missing = [k for k in placements if k not in published.placements]
        if missing:
            unknown["placements"] = missing
    if screens:
        missing = [k for k in screens if k not in published.screens]
        if missing:
            unknown["screens"] = missing
    if unknown:
        body["unknown"] = unknown
    if explain:
        body["explain"] = explain_decision(snapshot, doc, is_member, resolved, now)
    return body


def explain_decision(
    snapshot: Snapshot,
    doc: Mapping[str, Any],
    is_member: Callable[[str], bool],
    resolved: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """Segments matched (all active ones are evaluated) and, per slot, the variants tried."""
    for key in snapshot.active_segments:
        is_member(key)
    matched = sorted(k for k, hit in is_member.seen.items() if hit)  # type: ignore[attr-defined]
    trace: dict[str, Any] = {"placements": {}, "screens": {}}
    for kind, slots in (
        ("placements", snapshot.published.placements),
        ("screens", snapshot.published.screens),
    ):
        for key, res in resolved[kind].items():
            trace[kind][key] = {
                "variant": res.variant.key,
                "reason": res.reason,
                "trace": _trace(slots[key], res.variant.key, is_member, now),
            }
    return {
        "segments": matched,
        "snapshot_version": snapshot.version,
        "broken_segments": sorted(snapshot.broken_segments),
        "context": dict(doc.get("context") or {}),
        **trace,
    }


def visitor_document(
    *,
    visitor_id: str | None,
    user_id: str | None,
    consent: bool,
    stored: Mapping[str, Any] | None,
    inline_profile: Mapping[str, Any],
    context: Mapping[str, Any],
    visitor_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document rules evaluate: {"visitor", "profile", "context", "events"}.

    Inline profile traits override stored ones. The rollout unit (`visitor.id`) is the
    user id for a known visitor and the anonymous id otherwise, so a person keeps their
    rollout bucket across devices; the anonymous id stays readable as `visitor.anonymous_id`.
    """
    visitor: dict[str, Any] = {
        "id": user_id or visitor_id,
        "is_known": stored is not None,
        "consent": consent,
    }
    if visitor_id is not None:
        visitor["anonymous_id"] = visitor_id
    if user_id is not None:
        visitor["user_id"] = user_id
    if stored is not None:
        traits = stored.get("traits") or {}
        profile = {**traits, **inline_profile} if inline_profile else dict(traits)
        visitor["visit_count"] = stored.get("visit_count", 0)
        for key in ("first_seen", "last_seen"):
            value = stored.get(key)
            if value is not None:
                visitor[key] = value.isoformat() if hasattr(value, "isoformat") else value
        events = stored.get("recent_events") or []
    else:
        profile = dict(inline_profile)
        if visitor_extra:
            for key, value in visitor_extra.items():
                visitor.setdefault(key, value)
        events = []
    return {"visitor": visitor, "profile": profile, "context": dict(context), "events": events}
