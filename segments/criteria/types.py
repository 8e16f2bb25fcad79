"""Names of the criteria language as types: node kinds, operators, field types, and the
visitor document every rule reads. Shared by the parser, both compilers, delivery and
the builder's server side."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

NodeKind = Literal["all", "any", "none", "condition", "event", "segment", "rollout"]
GroupKind = Literal["all", "any", "none"]

FieldType = Literal[
    "string", "enum", "number", "boolean", "date", "datetime", "version", "list", "geo"
]

Operator = Literal[
    "eq",
    "neq",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches",
    "contains_any",
    "contains_all",
    "is_set",
    "is_not_set",
    "is_true",
    "is_false",
    "within_last",
    "more_than_ago",
    "hour_between",
    "day_of_week_in",
    "within_km",
]

CountOperator = Literal["gte", "gt", "eq", "lte", "lt", "between"]

# Where a condition's field lives: a section of the document, or an event's properties.
FieldRoot = Literal["profile", "context", "visitor", "properties"]
# What a condition compares as: its field's type, or "any" for an untyped event property
# tested with is_set/is_not_set.
ConditionType = Literal[FieldType, "any"]


class VisitorFacts(TypedDict, total=False):
    """`visitor.*`: who the visitor is and how often they came."""

    id: str
    user_id: str | None
    anonymous_id: str | None
    is_known: bool
    visit_count: int
    # ISO strings as clients send them; datetimes once delivery has read stored times.
    first_seen: str | datetime | None
    last_seen: str | datetime | None
    consent: bool | None


class EventFact(TypedDict):
    """One event as event conditions count it."""

    name: str
    properties: dict[str, Any]
    timestamp: str | None


class VisitorDocument(TypedDict):
    """What a compiled rule evaluates: `rule.matches(doc)`."""

    visitor: VisitorFacts
    profile: dict[str, Any]
    context: dict[str, Any]
    events: NotRequired[list[EventFact]]
