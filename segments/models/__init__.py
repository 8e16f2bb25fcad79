from segments.models.catalog import Field, FieldType
from segments.models.counters import CounterSpec, CounterState
from segments.models.jobs import (
    SegmentJob,
    SegmentJobChunk,
    SegmentJobKind,
    SegmentJobPhase,
    SegmentJobStatus,
)
from segments.models.people import Event, EventKind, Profile, ReasonKind, VisitorLink
from segments.models.segment import (
    Segment,
    SegmentKind,
    SegmentRevision,
    SegmentStatus,
    StaticMember,
    StaticSource,
)

__all__ = [
    "CounterSpec",
    "CounterState",
    "Event",
    "EventKind",
    "Field",
    "FieldType",
    "Profile",
    "ReasonKind",
    "Segment",
    "SegmentJob",
    "SegmentJobChunk",
    "SegmentJobKind",
    "SegmentJobPhase",
    "SegmentJobStatus",
    "SegmentKind",
    "SegmentRevision",
    "SegmentStatus",
    "StaticMember",
    "StaticSource",
    "VisitorLink",
]
