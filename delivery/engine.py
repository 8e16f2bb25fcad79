"""The decision engine: a compiled, immutable per-site Snapshot and `decide()`. Pure: no ORM.

A Snapshot holds what a site has *published*: compiled segment rules and the live slots
(placements and screens, variants in priority order, defaults), precompiled into tables
whose response entries are built once. `decide()` walks them for a visitor document with
the resolution rule of `content.resolution` (a test keeps the two in agreement). Segment
rules run lazily and at most once per decision, only for the segments the requested slots
reach (plus every active segment when `explain` asks for the full list).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from content.published import PublishedSite, PublishedSlot, PublishedVariant
from segments.criteria.values import parse_when


class Rule(Protocol):
    def matches(self, doc: Mapping[str, Any], now: datetime | None = None) -> bool: ...


# One targeted variant, precompiled: (segment key, starts_at, ends_at, response entry).
Targeted = tuple[str, datetime | None, datetime | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CompiledSlot:
    """A live slot as decide walks it. The response entries are built once per snapshot and
    shared by every decision: treat them as read-only."""

    key: str
    targeted: tuple[Targeted, ...]  # in evaluation order (content.published)
    default: dict[str, Any]


def _entry(kind: str, variant: PublishedVariant, reason: dict[str, Any]) -> dict[str, Any]:
    if kind == "placement":
        return {"variant": variant.key, "content": variant.payload, "reason": reason}
    return {"variant": variant.key, "design": variant.payload.get("design", {}), "reason": reason}


def compile_slot(slot: PublishedSlot, kind: str) -> CompiledSlot:
    targeted = tuple(
        (
            v.segment_key or "",
            v.starts_at,
            v.ends_at,
            _entry(kind, v, {"kind": "segment", "segment": v.segment_key}),
        )
        for v in slot.targeted
    )
    return CompiledSlot(
        key=slot.key, targeted=targeted, default=_entry(kind, slot.default, {"kind": "default"})
    )


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
    placement_table: Mapping[str, CompiledSlot] = field(init=False, repr=False)
    screen_table: Mapping[str, CompiledSlot] = field(init=False, repr=False)
    # JSON of every response entry, serialised once (keyed by the entry's id()).
    fragments: Mapping[int, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        placements = {k: compile_slot(s, "placement") for k, s in self.published.placements.items()}
        screens = {k: compile_slot(s, "screen") for k, s in self.published.screens.items()}
        fragments: dict[int, str] = {}
        for table in (placements, screens):
            for slot in table.values():
                for entry in (*(t[3] for t in slot.targeted), slot.default):
                    fragments[id(entry)] = _dumps(entry)
        object.__setattr__(self, "placement_table", placements)
        object.__setattr__(self, "screen_table", screens)
        object.__setattr__(self, "fragments", fragments)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def encode(snapshot: Snapshot, body: Mapping[str, Any]) -> bytes:
    """The response body as JSON bytes. Placement and screen entries come from the snapshot's
    pre-serialised fragments, so a decide does not re-encode the same content every time."""
    fragments = snapshot.fragments
    parts = []
    for key, value in body.items():
        if key in ("placements", "screens"):
            inner = ",".join(
                f"{_dumps(k)}:{fragments.get(id(entry)) or _dumps(entry)}"
                for k, entry in value.items()
            )
            parts.append(f'"{key}":{{{inner}}}')
        else:
            parts.append(f"{_dumps(key)}:{_dumps(value)}")
    return ("{" + ",".join(parts) + "}").encode()


def _resolve(
    table: Mapping[str, CompiledSlot],
    keys: tuple[str, ...] | list[str] | None,
    rules: Mapping[str, Rule],
    seen: dict[str, bool],
    doc: Mapping[str, Any],
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """content.resolution.resolve_slot's rule, inlined for speed: the first targeted variant
    (by priority) scheduled at `now` whose segment matches, else the default. Each segment
    rule runs at most once per decision (`seen`); unknown or failing rules do not match."""
    out: dict[str, dict[str, Any]] = {}
    slots = table.values() if keys is None else [table[k] for k in keys if k in table]
    for slot in slots:
        for segment, starts, ends, entry in slot.targeted:
            if (starts is not None and now < starts) or (ends is not None and now >= ends):
                continue
            hit = seen.get(segment)
            if hit is None:
                rule = rules.get(segment)
                if rule is None:
                    hit = False
                else:
                    try:
                        hit = bool(rule.matches(doc, now))
                    except Exception:  # a rule must never take a page down: it does not match
                        hit = False
                seen[segment] = hit
            if hit:
                out[slot.key] = entry
                break
        else:
            out[slot.key] = slot.default
    return out


def _rule_hit(
    rules: Mapping[str, Rule], key: str, doc: Mapping[str, Any], now: datetime | None
) -> bool:
    """Whether segment `key` matches: unknown or failing rules do not match (`_resolve`
    inlines the same for speed)."""
    rule = rules.get(key)
    try:
        return bool(rule is not None and rule.matches(doc, now))
    except Exception:  # a rule must never take a page down: it does not match
        return False


def membership(snapshot: Snapshot, doc: Mapping[str, Any], now: datetime | None = None) -> Any:
    """`is_member(key)` for one visitor (previews, tests): memoised, unknown keys False."""
    seen: dict[str, bool] = {}

    def is_member(key: str) -> bool:
        hit = seen.get(key)
        if hit is None:
            hit = seen[key] = _rule_hit(snapshot.rules, key, doc, now)
        return hit

    return is_member


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

    Both `placements` and `screens` None: everything. Only one of them given: just those
    (the other kind is not decided). Unknown keys are listed under `unknown`.
    """
    if placements is not None and screens is None:
        screens = ()
    elif screens is not None and placements is None:
        placements = ()
    seen: dict[str, bool] = {}
    rules = snapshot.rules
    body: dict[str, Any] = {
        "placements": _resolve(snapshot.placement_table, placements, rules, seen, doc, now),
        "screens": _resolve(snapshot.screen_table, screens, rules, seen, doc, now),
    }
    unknown: dict[str, list[str]] = {}
    if placements:
        missing = [k for k in placements if k not in snapshot.placement_table]
        if missing:
            unknown["placements"] = missing
    if screens:
        missing = [k for k in screens if k not in snapshot.screen_table]
        if missing:
            unknown["screens"] = missing
    if unknown:
        body["unknown"] = unknown
    if explain:
        body["explain"] = explain_decision(snapshot, doc, seen, body, now)
    return body


def _trace(slot: CompiledSlot, chosen: str, seen: dict[str, bool], now: datetime) -> list:
    steps: list[dict[str, Any]] = []
    for segment, starts, ends, entry in slot.targeted:
        scheduled = not (
            (starts is not None and now < starts) or (ends is not None and now >= ends)
        )
        step: dict[str, Any] = {
            "variant": entry["variant"],
            "segment": segment,
            "scheduled": scheduled,
        }
        if scheduled:
            step["matched"] = seen.get(segment, False)
        steps.append(step)
        if entry["variant"] == chosen:
            return steps
    steps.append({"variant": slot.default["variant"], "segment": None, "default": True})
    return steps


def explain_decision(
    snapshot: Snapshot,
    doc: Mapping[str, Any],
    seen: dict[str, bool],
    body: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Segments matched (every active one is evaluated) and, per slot, the variants tried."""
    for key in snapshot.active_segments:
        if key not in seen:
            seen[key] = _rule_hit(snapshot.rules, key, doc, now)
    out: dict[str, Any] = {
        "segments": sorted(k for k, hit in seen.items() if hit),
        "snapshot_version": snapshot.version,
        "broken_segments": sorted(snapshot.broken_segments),
        "context": {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in (doc.get("context") or {}).items()
        },
        "placements": {},
        "screens": {},
    }
    for kind, table in (
        ("placements", snapshot.placement_table),
        ("screens", snapshot.screen_table),
    ):
        for key, entry in body[kind].items():
            out[kind][key] = {
                "variant": entry["variant"],
                "reason": entry["reason"],
                "trace": _trace(table[key], entry["variant"], seen, now),
            }
    return out


def _when(value: Any) -> Any:
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return value


def prepare_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Parse the document's timestamps once per decision (context.local_time, event times),
    so the rules that read them do not each parse the same strings again."""
    context = doc.get("context")
    if context and type(context.get("local_time")) is str:
        doc["context"] = {**context, "local_time": _when(context["local_time"])}
    events = doc.get("events")
    if events:
        # Read exactly as the rules would (parse_when), once: every event rule then reuses it.
        doc["events"] = [
            {**e, "timestamp": parse_when(e["timestamp"]) or e["timestamp"]}
            if type(e) is dict and type(e.get("timestamp")) is str
            else e
            for e in events
        ]
    return doc


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
                visitor[key] = _when(value)  # datetimes: rules read them without parsing
        events = stored.get("recent_events") or []
    else:
        profile = dict(inline_profile)
        if visitor_extra:
            for key, value in visitor_extra.items():
                visitor.setdefault(key, value)
        events = []
    return prepare_document(
        {"visitor": visitor, "profile": profile, "context": dict(context), "events": events}
    )
