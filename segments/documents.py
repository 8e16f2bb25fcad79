"""The visitor document (docs/criteria.md) of a stored profile, as the criteria engine reads it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from segments.criteria.types import EventFact, VisitorDocument


def _iso(dt: Any) -> str | None:
    return dt.isoformat() if dt is not None else None


def event_document(event: Any) -> EventFact:
    return {
        "name": event.name,
        "properties": event.properties if isinstance(event.properties, dict) else {},
        "timestamp": _iso(event.occurred_at),
    }


def profile_document(profile: Any, events: Iterable[Any] | None = None) -> VisitorDocument:
    """{"visitor", "profile", "context", "events"} for a stored Profile.

    The visitor id of a stored profile is its bucketing id (the anonymous id the person was
    first seen with) or else its `user_id`, so rollouts over stored profiles bucket by the
    same unit as a decide and as `to_q()` in SQL. `events` defaults to the
    profile's stored events (one query); pass them in to avoid it.
    """
    if events is None:
        events = profile.events.all() if profile.pk else ()
    return {
        "visitor": {
            "id": getattr(profile, "bucketing_id", "") or profile.user_id,
            "user_id": profile.user_id,
            "is_known": True,
            "visit_count": profile.visit_count,
            "first_seen": _iso(profile.first_seen),
            "last_seen": _iso(profile.last_seen),
            "consent": profile.consent,
        },
        "profile": profile.traits if isinstance(profile.traits, dict) else {},
        "context": profile.last_context if isinstance(profile.last_context, dict) else {},
        "events": [event_document(e) for e in events],
    }


def merge_documents(base: VisitorDocument, extra: Mapping[str, Any]) -> VisitorDocument:
    """`base` with `extra` laid over it one level deep (inline `profile`/`context` values
    override stored ones key by key, as in a decide request)."""
    merged: dict[str, Any] = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return cast(VisitorDocument, merged)
