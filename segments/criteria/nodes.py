"""The validated tree: what parse produces and both compilers consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segments.criteria.types import ConditionType, CountOperator, FieldRoot, GroupKind, Operator


@dataclass(frozen=True, slots=True)
class StaticSegment:
    """A static segment: membership by `visitor.user_id`. In SQL, by `segment_id` when set."""

    key: str
    user_ids: frozenset[str] = frozenset()
    site_id: int | None = None
    segment_id: int | None = None


@dataclass(slots=True)
class Group:
    kind: GroupKind
    children: list[Any]
    path: str


@dataclass(slots=True)
class Condition:
    path: str
    field: str  # "profile.age", or "properties.price" inside an event's where
    root: FieldRoot
    keys: tuple[str, ...]
    type: ConditionType
    op: Operator
    value: Any  # normalised operand (see parse._operand)
    case_sensitive: bool = False
    raw_value: Any = None


@dataclass(slots=True)
class EventNode:
    path: str
    name: str
    where: Group | None
    count_op: CountOperator
    count_value: Any  # int, or (lo, hi) for between
    within_seconds: float | None
    within_days: Any = None


@dataclass(slots=True)
class SegmentRef:
    path: str
    key: str
    target: Any  # a node (inlined dynamic segment) or a StaticSegment


@dataclass(slots=True)
class Rollout:
    path: str
    percent: float
    salt: str


@dataclass(slots=True)
class Parsed:
    root: Any
    has_rollout: bool = False
    uses_now: bool = False
    referenced_segments: set[str] = field(default_factory=set)
