"""Which properties do a site's events of one name carry? Suggestions for the builder's
event filters (`where`): property paths, how often each was seen, and its frequent values.

Bounded: only the most recent events of that name are read (the `event_site_name_time`
index serves the filter and the order), never the whole table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, TypedDict

from segments.models import Event
from tenancy.models import Site

RECENT_EVENTS = 500  # the events read per suggestion
MAX_PROPERTIES = 50
MAX_VALUES = 5
MAX_VALUE_LENGTH = 60  # longer strings (ids, urls, free text) are never worth suggesting
MAX_DEPTH = 3  # properties.a.b.c


class PropertySuggestion(TypedDict):
    path: str  # "properties.price", as a criteria `field` inside `where`
    name: str  # "price"
    seen: int  # in how many of the events read
    values: list[Any]  # the most frequent scalar values, most frequent first


class EventPropertySuggestions(TypedDict):
    event: str
    events_read: int
    properties: list[PropertySuggestion]


def _walk(props: Mapping[str, Any], prefix: str, depth: int, out: dict[str, Any]) -> None:
    for key, value in props.items():
        if not isinstance(key, str):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < MAX_DEPTH:
            _walk(value, f"{name}.", depth + 1, out)
        else:
            out[name] = value


def _suggestable(value: Any) -> bool:
    if isinstance(value, (int, float)):  # bool included
        return True
    return isinstance(value, str) and 0 < len(value) <= MAX_VALUE_LENGTH


def event_property_suggestions(
    *, site: Site | int, event: str, recent: int = RECENT_EVENTS
) -> EventPropertySuggestions:
    """The properties of the site's latest `recent` events named `event`."""
    site_id = site.pk if isinstance(site, Site) else site
    rows = (
        Event.objects.filter(site_id=site_id, name=event)
        .order_by("-occurred_at")
        .values_list("properties", flat=True)[: max(1, min(recent, RECENT_EVENTS))]
    )
    seen: Counter[str] = Counter()
    values: dict[str, Counter[Any]] = {}
    read = 0
    for props in rows:
        read += 1
        if not isinstance(props, Mapping):
            continue
        flat: dict[str, Any] = {}
        _walk(props, "", 1, flat)
        for name, value in flat.items():
            seen[name] += 1
            if _suggestable(value):
                # (type, value): 1, 1.0 and True stay apart, as criteria compare them
                values.setdefault(name, Counter())[(type(value).__name__, value)] += 1
    ranked = sorted(seen.items(), key=lambda item: (-item[1], item[0]))[:MAX_PROPERTIES]
    return {
        "event": event,
        "events_read": read,
        "properties": [
            {
                "path": f"properties.{name}",
                "name": name,
                "seen": count,
                "values": [v for (_, v), _ in values.get(name, Counter()).most_common(MAX_VALUES)],
            }
            for name, count in ranked
        ],
    }
