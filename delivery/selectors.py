"""Delivery's reads: it owns the stored person as a decide reads it (one indexed query,
the only SQL a decide may run) and the person as the profile API answers it (the upsert's
summary, and the full export of everything held about a person on a site)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypedDict

from django.db import connection
from django.db.models import Q

from experiments.models import Assignment, PolicyDecision
from segments.models import Event, Profile, StaticMember, VisitorLink

DECIDE_PROFILE_COLUMNS = (
    "traits",
    "recent_events",
    "visit_count",
    "first_seen",
    "last_seen",
    "consent",
    "counters",
    "bucketing_id",
    "experiment_assignments",
)


class DecideProfile(TypedDict):
    """The stored person a decide reads (`engine.visitor_document`'s `stored`)."""

    traits: dict[str, Any]
    recent_events: list[dict[str, Any]]
    visit_count: int
    first_seen: datetime
    last_seen: datetime
    consent: bool
    counters: dict[str, list[float]]  # behavioural counters (delivery.counters)
    bucketing_id: str  # the unit rollouts and experiments hash; "" until fixed
    experiment_assignments: dict[str, str]  # {experiment key: "phase:arm"}


class ProfileFields(TypedDict):
    user_id: str
    traits: dict[str, Any]
    consent: bool
    visit_count: int
    first_seen: str
    last_seen: str


class ProfileSummary(ProfileFields):
    """The profile as the upsert answers it."""

    visitor_ids: list[str]


class LinkedVisitor(TypedDict):
    visitor_id: str
    linked_at: str


class ExportedEvent(TypedDict):
    id: str | None
    kind: str
    name: str
    properties: dict[str, Any]
    visitor_id: str
    timestamp: str
    received_at: str


class ProfileExport(ProfileFields):
    """Everything held about a person on a site."""

    last_context: dict[str, Any]
    recent_events: list[dict[str, Any]]
    created_at: str
    updated_at: str
    visitor_ids: list[LinkedVisitor]
    events: list[ExportedEvent]
    static_segments: list[str]  # keys of the static segments that list the person
    bucketing_id: str  # the id rollouts and experiments hash for the person
    behaviour_counters: dict[str, list[float]]  # per counter key: recent matching times
    experiment_assignments: list[ExportedAssignment]
    optimization_decisions: list[ExportedDecision]


class ExportedDecision(TypedDict):
    optimization: str
    version: int
    arm: str
    unit_id: str
    propensity: float
    holdout: bool
    features: dict[str, Any]
    decided_at: str


class ExportedAssignment(TypedDict):
    experiment: str
    phase: int
    arm: str
    unit_id: str
    probability: float
    first_exposed_at: str


_DECIDE_PROFILE_SQL = (
    f"SELECT {', '.join(DECIDE_PROFILE_COLUMNS)} FROM {Profile._meta.db_table} "
    "WHERE site_id = %s AND user_id = %s"
)
# Without the recent events (decoding 100 of them costs more than the query), and
# without the counters when no counter is ready.
_DECIDE_PROFILE_VARIANTS = {
    (events, counters): _DECIDE_PROFILE_SQL.replace(
        "recent_events", "recent_events" if events else "NULL", 1
    ).replace(", counters", ", counters" if counters else ", NULL", 1)
    for events in (True, False)
    for counters in (True, False)
}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _aware(value: Any) -> Any:
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def profile_for_decide(
    *, site_id: int, user_id: str, with_events: bool = True, with_counters: bool = False
) -> DecideProfile | None:
    """The stored person for a decide: one indexed query on a raw cursor, only the columns
    decide reads (the ORM's queryset, model and field machinery cost 3x the query itself).
    `with_events=False` (no rule of the site scans events) leaves recent events empty;
    `with_counters` reads the behavioural counters too."""
    sql = _DECIDE_PROFILE_VARIANTS[(with_events, with_counters)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [site_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (
        traits,
        recent_events,
        visit_count,
        first_seen,
        last_seen,
        consent,
        counters,
        unit,
        assigned,
    ) = row
    return {
        "traits": _json(traits) or {},
        "recent_events": _json(recent_events) or [],
        "visit_count": visit_count,
        "first_seen": _aware(first_seen),
        "last_seen": _aware(last_seen),
        "consent": bool(consent),
        "counters": _json(counters) or {},
        "bucketing_id": unit or "",
        "experiment_assignments": _json(assigned) or {},
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _profile_fields(profile: Profile) -> ProfileFields:
    return {
        "user_id": profile.user_id,
        "traits": profile.traits,
        "consent": profile.consent,
        "visit_count": profile.visit_count,
        "first_seen": _iso(profile.first_seen),
        "last_seen": _iso(profile.last_seen),
    }


def profile_summary(*, profile: Profile) -> ProfileSummary:
    """The profile as the upsert answers it: its fields and its linked anonymous ids."""
    return {
        **_profile_fields(profile),
        "visitor_ids": sorted(profile.visitor_links.values_list("visitor_id", flat=True)),
    }


def profile_export(*, site_id: int, user_id: str) -> ProfileExport | None:
    """Everything held about a person on a site: profile, linked ids, events."""
    profile = Profile.objects.filter(site_id=site_id, user_id=user_id).first()
    if profile is None:
        return None
    links = list(
        VisitorLink.objects.filter(site_id=site_id, profile=profile)
        .order_by("linked_at", "pk")
        .values("visitor_id", "linked_at")
    )
    linked_ids = [link["visitor_id"] for link in links]
    # The units erasure deletes assignments and decisions of (delivery.services.profile_erase).
    units = {*linked_ids, user_id, profile.bucketing_id} - {""}
    events = (
        Event.objects.filter(site_id=site_id)
        .filter(Q(profile=profile) | Q(visitor_id__in=linked_ids, profile__isnull=True))
        .order_by("occurred_at", "pk")
        .values(
            "event_id", "kind", "name", "properties", "visitor_id", "occurred_at", "received_at"
        )
    )
    return {
        **_profile_fields(profile),
        "last_context": profile.last_context,
        "recent_events": profile.recent_events,
        "created_at": _iso(profile.created_at),
        "updated_at": _iso(profile.updated_at),
        "visitor_ids": [
            {"visitor_id": x["visitor_id"], "linked_at": _iso(x["linked_at"])} for x in links
        ],
        "events": [
            {
                "id": e["event_id"],
                "kind": e["kind"],
                "name": e["name"],
                "properties": e["properties"],
                "visitor_id": e["visitor_id"],
                "timestamp": _iso(e["occurred_at"]),
                "received_at": _iso(e["received_at"]),
            }
            for e in events
        ],
        "static_segments": sorted(
            StaticMember.objects.filter(segment__site_id=site_id, user_id=user_id)
            .values_list("segment__key", flat=True)
            .distinct()
        ),
        "bucketing_id": profile.bucketing_id,
        "behaviour_counters": profile.counters,
        "experiment_assignments": [
            {
                "experiment": a["experiment__key"],
                "phase": a["phase"],
                "arm": a["arm_key"],
                "unit_id": a["unit_id"],
                "probability": a["probability"],
                "first_exposed_at": _iso(a["first_exposed_at"]),
            }
            for a in Assignment.objects.filter(site_id=site_id, unit_id__in=units)
            .order_by("first_exposed_at", "pk")
            .values(
                "experiment__key", "phase", "arm_key", "unit_id", "probability", "first_exposed_at"
            )
        ],
        "optimization_decisions": [
            {
                "optimization": d["optimization__key"],
                "version": d["version"],
                "arm": d["arm_key"],
                "unit_id": d["unit_id"],
                "propensity": d["propensity"],
                "holdout": d["holdout"],
                "features": d["features"],
                "decided_at": _iso(d["decided_at"]),
            }
            for d in PolicyDecision.objects.filter(site_id=site_id, unit_id__in=units)
            .order_by("decided_at", "pk")
            .values(
                "optimization__key",
                "version",
                "arm_key",
                "unit_id",
                "propensity",
                "holdout",
                "features",
                "decided_at",
            )
        ],
    }
