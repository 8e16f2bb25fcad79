"""Delivery's workflows and writes: it owns deciding for a visitor (validated input, then
snapshot, enriched context, visitor document and engine, shared by the API view and the
template tag), recording visits, ingesting event batches, and upserting and erasing
profiles. It knows nothing of HTTP: a decide returns its answer together with the
follow-up work (the visit of a known visitor, handed to `delivery.visit_buffer`, which
writes many visits at once off the request path) that the caller runs once the answer is
out, the API view after the response has been sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal, TypedDict

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.db.models.constants import OnConflict
from django.utils import timezone, translation
from django.utils.translation.trans_real import parse_accept_lang_header

from delivery import engine
from delivery.counters import counter_plan, counters_doc
from delivery.enrich import MAX_ACCEPT_LANGUAGE, enrich_context
from delivery.selectors import profile_for_decide
from delivery.snapshot import snapshot_get
from delivery.validation import (
    DecideInput,
    EventBatch,
    EventInput,
    FieldError,
    ProfileInput,
    raise_errors,
)
from delivery.visit_buffer import (
    DecisionRecord,
    ExposureRecord,
    VisitRecord,
    decision_add,
    decision_recorded,
    exposure_add,
    visit_add,
    visit_unchanged,
)
from experiments.assignment import Assigned
from experiments.models import Assignment, Experiment, Optimization, PolicyDecision
from segments.criteria import Labels
from segments.models import Event, Profile, Segment, StaticMember, VisitorLink
from segments.services.counters import counters_ingest, counters_recompute
from tenancy.failopen import publish_quietly
from tenancy.identity import user_id_verified
from tenancy.jsonsafe import MAX_INT, MIN_INT, UNSTORABLE
from tenancy.services import site_config_bump

RECENT_EVENTS_CAP = 100  # events kept on the profile row for decide (newest first)
VISIT_GAP = timedelta(minutes=30)  # a decide after this much silence starts a new visit
CONTEXT_DROP = ("ip", "user_agent")  # not kept in last_context

# Who is asking: a public (delivery) key, whose user ids need proof (tenancy.identity), or
# the site's server (a server key, or in-process like the template tag), which is trusted.
Caller = Literal["public", "server"]


# --- decide -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """A decide's answer, and the work to run once it has been delivered (`followups`)."""

    body: engine.DecideAnswer
    snapshot: engine.Snapshot  # encodes the body from its pre-serialised fragments
    followups: tuple[Callable[[], None], ...] = ()

    def json(self) -> bytes:
        return engine.encode(self.snapshot, self.body)


def decide_for_visitor(
    *,
    site_id: int,
    data: DecideInput,
    caller: Caller,
    user_agent: str = "",
    ip: str = "",
    accept_language: str = "",
    now: datetime | None = None,
) -> Decision:
    """Decide every requested slot for one visitor. Anonymous: no SQL. Known: one query.

    A public caller's `user_id` without valid proof is only an anonymous id: no stored
    profile, no static membership, no visit record or linking.
    Returns the answer and the follow-up work: run it after the answer has been sent.
    """
    now = now or timezone.now()
    user_id = data.user_id
    if (
        user_id is not None
        and caller == "public"
        and data.consent  # without consent nothing stored is read: nothing to verify
        and not user_id_verified(site_id=site_id, user_id=user_id, user_hash=data.user_hash)
    ):
        user_id = None
    snapshot = snapshot_get(site_id)
    context = enrich_context(
        data.context,
        user_agent=user_agent,
        ip=ip,
        accept_language=accept_language,
        site_timezone=snapshot.timezone,
        now=now,
    )
    stored = None
    withdrawn = False
    plan = None
    if user_id is not None and data.consent:
        plan = counter_plan(snapshot)
        stored = profile_for_decide(
            site_id=site_id,
            user_id=user_id,
            with_events=(snapshot.reads_events and not plan.covers_all)
            or snapshot.optimizations_read_events,
            with_counters=bool(plan.ready),
        )
        if stored is not None and not stored["consent"]:
            stored, withdrawn = None, True  # decide on this request alone, record nothing
    doc = engine.visitor_document(
        visitor_id=data.visitor_id or data.user_id,
        user_id=user_id,
        consent=data.consent,
        stored=stored,
        inline_profile=data.profile,
        context=context,
        visitor_extra=data.visitor_extra,
        inline_events=data.events,
    )
    if plan is not None and stored is not None and plan.ready:
        doc["counters"] = counters_doc(plan, stored, data.events)  # type: ignore[typeddict-unknown-key]
    # A person's stored assignments win over what a device echoes (another device may hold
    # an older answer); both only count for the experiment's current phase (the engine).
    kept = stored["experiment_assignments"] if stored is not None else {}
    sticky = {**data.assignments, **kept} if kept else data.assignments
    exposures: list[Assigned] = []
    optimized: list[engine.Optimized] = []
    body: engine.DecideAnswer = {"visitor_id": data.visitor_id or data.user_id}
    body.update(
        engine.decide(
            snapshot,
            doc,
            now=now,
            placements=data.placements,
            screens=data.screens,
            explain=data.explain,
            assignments=sticky,
            exposures=exposures,
            labels=explain_labels(snapshot=snapshot, language=context.get("language"))
            if data.explain
            else None,
            optimized=optimized,
        )
    )
    followups: tuple[Callable[[], None], ...] = ()
    if optimized and data.consent and not withdrawn:
        # Built after the answer is out: the records (features made storable) cost more
        # than the draw, and a repeat visit's are dropped by the buffer's memo anyway.
        followups = (
            partial(
                _decisions_add,
                site_id=site_id,
                unit=doc["visitor"]["id"],
                optimized=optimized,
                now=now,
            ),
        )
    if exposures and data.consent and not withdrawn:
        records = _exposures_new(
            site_id=site_id,
            unit=doc["visitor"]["id"],
            user_id=user_id,
            exposures=exposures,
            kept=kept,
            now=now,
        )
        if records:
            followups = (*followups, partial(_exposures_add, records))
    if (
        user_id is not None
        and data.consent
        and not withdrawn
        and not visit_unchanged(
            site_id=site_id,
            user_id=user_id,
            visitor_id=data.visitor_id,
            stored=stored,
            now=now,
        )
    ):
        followups = (
            *followups,
            partial(
                visit_add,
                site_id=site_id,
                user_id=user_id,
                visitor_id=data.visitor_id,
                context=_clean_context(context),
                seen_at=now,
            ),
        )
    return Decision(body=body, snapshot=snapshot, followups=followups)


def explain_labels(*, snapshot: engine.Snapshot, language: Any) -> Labels:
    """The words of `explain`'s segment sentences: the site's field labels, in the first of
    the visitor's languages (`context.language`, a tag or an Accept-Language value) the UI
    is translated into, else English."""
    code = "en"
    if isinstance(language, str):
        for tag, _ in parse_accept_lang_header(language[:MAX_ACCEPT_LANGUAGE].lower()):
            try:
                code = translation.get_supported_language_variant(tag)
            except LookupError:
                continue
            break
    return Labels(translator=translation.trans_real.translation(code), fields=snapshot.field_labels)


# --- experiment exposures ---------------------------------------------------------------------


def _exposures_new(
    *,
    site_id: int,
    unit: str,
    user_id: str | None,
    exposures: list[Assigned],
    kept: dict[str, str],
    now: datetime,
) -> list[ExposureRecord]:
    """The exposures worth recording: an anonymous visitor's hashed (not echoed) ones, since
    an echoed arm was recorded when first answered; a known person's every arm their
    profile does not hold yet (so it follows them to other devices)."""
    at = now.isoformat()
    return [
        {
            "site_id": site_id,
            "experiment": a.experiment.key,
            "phase": a.experiment.phase,
            "unit_id": unit,
            "arm": a.arm.key,
            "probability": a.probability,
            "at": at,
            "user_id": user_id,
        }
        for a in exposures
        if (kept.get(a.experiment.key) != a.token if user_id is not None else not a.sticky)
    ]


def _exposures_add(records: list[ExposureRecord]) -> None:
    for record in records:
        exposure_add(record)


def exposures_record(*, exposures: list[ExposureRecord]) -> int:
    """Record first exposures: one Assignment per (experiment, phase, unit), the first one
    written wins (later ones, from other processes or an echo, change nothing); known people
    keep the recorded arm on their profile. Exposures of experiments that are gone or of
    another site are dropped. A few queries per site; returns the assignments created."""
    created = 0
    by_site: dict[int, list[ExposureRecord]] = {}
    for record in exposures:
        by_site.setdefault(record["site_id"], []).append(record)
    for site_id, records in sorted(by_site.items()):
        created += _site_exposures_record(site_id=site_id, records=records)
    return created


def _site_exposures_record(*, site_id: int, records: list[ExposureRecord]) -> int:
    when = datetime.fromisoformat
    ids = dict(
        Experiment.objects.filter(
            site_id=site_id, key__in={r["experiment"] for r in records}
        ).values_list("key", "pk")
    )
    records = [r for r in records if r["experiment"] in ids]
    if not records:
        return 0
    with transaction.atomic():
        rows = {
            (r["experiment"], r["phase"], r["unit_id"]): Assignment(
                site_id=site_id,
                experiment_id=ids[r["experiment"]],
                phase=r["phase"],
                unit_id=r["unit_id"],
                arm_key=r["arm"],
                probability=r["probability"],
                first_exposed_at=when(r["at"]),
            )
            for r in sorted(records, key=lambda r: r["at"], reverse=True)  # earliest wins
        }
        created = _insert_ignoring_conflicts(Assignment, list(rows.values()))
        people = [r for r in records if r["user_id"]]
        if people:
            _profiles_assignments_keep(site_id=site_id, records=people, experiment_ids=ids)
    return created


def _profiles_assignments_keep(
    *, site_id: int, records: list[ExposureRecord], experiment_ids: dict[str, int]
) -> None:
    """Copy each person's recorded arms (the database's, not the decide's: the first
    recorded wins) onto their profile, for the phase recorded."""
    units = {r["unit_id"] for r in records}
    recorded = {
        (experiment_id, phase, unit): arm
        for experiment_id, phase, unit, arm in Assignment.objects.filter(
            experiment_id__in=set(experiment_ids.values()), unit_id__in=units
        ).values_list("experiment_id", "phase", "unit_id", "arm_key")
    }
    tokens: dict[str, dict[str, str]] = {}
    for r in records:
        arm = recorded.get((experiment_ids[r["experiment"]], r["phase"], r["unit_id"]))
        if arm is not None:
            tokens.setdefault(r["user_id"] or "", {})[r["experiment"]] = f"{r['phase']}:{arm}"
    # The person's first visit may still be on its way (another task): create the row as
    # the visit would, bucketed by the unit they were exposed as.
    units_of = {r["user_id"]: r["unit_id"] for r in records if r["user_id"]}
    now = timezone.now()
    Profile.objects.bulk_create(
        [
            Profile(
                site_id=site_id,
                user_id=u,
                first_seen=now,
                last_seen=now,
                bucketing_id=units_of[u],
            )
            for u in tokens
        ],
        ignore_conflicts=True,
    )
    profiles = list(
        Profile.objects.select_for_update()
        .filter(site_id=site_id, user_id__in=list(tokens), consent=True)
        .order_by("pk")
        .only("pk", "user_id", "experiment_assignments")
    )
    for profile in profiles:
        profile.experiment_assignments = {
            **(profile.experiment_assignments or {}),
            **tokens[profile.user_id],
        }
    Profile.objects.bulk_update(profiles, ["experiment_assignments"])


# --- optimization decisions ---------------------------------------------------------------------

MAX_FEATURE_TEXT = 1000  # characters of a logged string value (a category or a list item)
MAX_FEATURE_ITEMS = 50  # items of a logged list value
# jsonb keeps numbers as exact decimals: 1e308 comes back as a 309-digit integer, which no
# reader takes. Floats beyond 2**53 are dropped (a feature value that large means nothing).
_FLOAT_LIMIT = float(2**53)


def storable_value(value: Any) -> Any:
    """A copy of a feature value PostgreSQL's jsonb can store (None when nothing is left):
    NUL and lone surrogates replaced, non-finite and out-of-range numbers dropped, long
    strings and lists cut. Decide reads documents the API validated, but a stored trait or
    an enriched context value must not fail the insert either."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value[:MAX_FEATURE_TEXT]
        return UNSTORABLE.sub("\ufffd", text) if UNSTORABLE.search(text) else text
    if isinstance(value, int):
        return value if MIN_INT <= value <= MAX_INT else None
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= _FLOAT_LIMIT else None
    if isinstance(value, list | tuple):
        items = (storable_value(v) for v in value[:MAX_FEATURE_ITEMS])
        return [v for v in items if v is not None]
    return None


def _storable_features(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        kept = storable_value(value)
        if kept is not None:
            out[storable_value(str(name)) or "?"] = kept
    return out


def _decisions_add(
    *, site_id: int, unit: str, optimized: list[engine.Optimized], now: datetime
) -> None:
    """Buffer each draw of a decide as a decision record, unless this process buffered the
    unit's decision under that model version already."""
    at = now.isoformat()
    for o in optimized:
        key = (site_id, o.optimization.key, o.optimization.version, unit)
        if decision_recorded(key):
            continue
        record: DecisionRecord = {
            "site_id": site_id,
            "optimization": o.optimization.key,
            "version": o.optimization.version,
            "unit_id": unit,
            "arm": o.draw.arm,
            "propensity": o.draw.propensity,
            "holdout": o.draw.holdout,
            "features": _storable_features(o.features()),
            "at": at,
        }
        decision_add(record)


def policy_decisions_record(*, decisions: list[DecisionRecord]) -> int:
    """Log optimization decisions: one PolicyDecision per (optimization, version, unit), the
    first written wins (later ones, from other processes or visits, change nothing).
    Decisions of optimizations that are gone or of another site are dropped. Two queries
    per site; returns the decisions created."""
    created = 0
    by_site: dict[int, list[DecisionRecord]] = {}
    for record in decisions:
        by_site.setdefault(record["site_id"], []).append(record)
    for site_id, records in sorted(by_site.items()):
        ids = dict(
            Optimization.objects.filter(
                site_id=site_id, key__in={r["optimization"] for r in records}
            ).values_list("key", "pk")
        )
        rows = {
            (r["optimization"], r["version"], r["unit_id"]): PolicyDecision(
                site_id=site_id,
                optimization_id=ids[r["optimization"]],
                version=r["version"],
                unit_id=r["unit_id"],
                arm_key=r["arm"],
                propensity=r["propensity"],
                holdout=r["holdout"],
                features=_storable_features(r["features"]),
                decided_at=datetime.fromisoformat(r["at"]),
            )
            for r in sorted(records, key=lambda r: r["at"], reverse=True)  # earliest wins
            if r["optimization"] in ids
        }
        created += _insert_ignoring_conflicts(PolicyDecision, list(rows.values()))
    return created


# --- visits -------------------------------------------------------------------------------------


def _clean_context(context: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k not in CONTEXT_DROP}


def visit_record(
    *,
    site_id: int,
    user_id: str,
    visitor_id: str | None,
    context: dict[str, Any],
    seen_at: datetime,
) -> None:
    """A known visitor was seen once (see `visits_record`)."""
    at = seen_at.isoformat()
    visits_record(
        visits=[
            {
                "site_id": site_id,
                "user_id": user_id,
                "visitor_ids": [visitor_id] if visitor_id and visitor_id != user_id else [],
                "context": _clean_context(context),
                "first_at": at,
                "last_at": at,
            }
        ]
    )


def visits_record(*, visits: list[VisitRecord]) -> int:
    """Known visitors were seen: upsert their profiles, count a visit after VISIT_GAP of
    silence, keep the last context and link the anonymous ids. Nothing for people who
    opted out. A few queries per site for the whole batch (rows locked in primary-key
    order, so concurrent batches cannot deadlock); returns the profiles written."""
    by_site: dict[int, dict[str, VisitRecord]] = {}
    for visit in visits:
        people = by_site.setdefault(visit["site_id"], {})
        earlier = people.get(visit["user_id"])
        people[visit["user_id"]] = visit if earlier is None else _merge_visits(earlier, visit)
    written = 0
    for site_id, people in sorted(by_site.items()):
        written += _site_visits_record(site_id=site_id, people=people)
    return written


def _merge_visits(a: VisitRecord, b: VisitRecord) -> VisitRecord:
    later = b if b["last_at"] >= a["last_at"] else a
    return {
        **later,
        "visitor_ids": list(dict.fromkeys([*a["visitor_ids"], *b["visitor_ids"]])),
        "first_at": min(a["first_at"], b["first_at"]),
        "last_at": max(a["last_at"], b["last_at"]),
    }


def _site_visits_record(*, site_id: int, people: dict[str, VisitRecord]) -> int:
    when = datetime.fromisoformat
    now = timezone.now()
    user_ids = sorted(people)
    with transaction.atomic():
        found = dict(
            Profile.objects.filter(site_id=site_id, user_id__in=user_ids).values_list(
                "user_id", "pk"
            )
        )
        missing = [u for u in user_ids if u not in found]
        if missing:
            Profile.objects.bulk_create(
                [
                    Profile(
                        site_id=site_id,
                        user_id=u,
                        first_seen=when(people[u]["first_at"]),
                        last_seen=when(people[u]["first_at"]),
                        bucketing_id=_bucketing_unit(people[u]),
                    )
                    for u in missing
                ],
                ignore_conflicts=True,
            )
        # Lock in primary-key order, so that concurrent batches cannot deadlock.
        locked = dict(
            Profile.objects.select_for_update()
            .filter(site_id=site_id, user_id__in=user_ids, consent=True)
            .order_by("pk")
            .values_list("user_id", "pk")
        )
        if not locked:
            return 0
        if connection.vendor == "postgresql":
            _visits_update_pg(site_id=site_id, people=people, user_ids=list(locked), now=now)
        else:
            _visits_update_orm(site_id=site_id, people=people, user_ids=list(locked), now=now)
        _links_record(site_id=site_id, people=people, profile_ids=locked)
    return len(locked)


def _bucketing_unit(visit: VisitRecord) -> str:
    """The bucketing id a person's first recorded visit fixes: the anonymous id they decided
    with (the unit their anonymous decides hashed), else their user id."""
    return next((v for v in visit["visitor_ids"] if v), visit["user_id"])


def _visits_update_pg(
    *, site_id: int, people: dict[str, VisitRecord], user_ids: list[str], now: datetime
) -> None:
    """One UPDATE … FROM (VALUES …) for the whole batch."""
    rows = ", ".join(["(%s, %s::timestamptz, %s::timestamptz, %s::jsonb, %s)"] * len(user_ids))
    params: list[Any] = []
    for u in user_ids:
        visit = people[u]
        params += [
            u,
            visit["first_at"],
            visit["last_at"],
            json.dumps(visit["context"]),
            _bucketing_unit(visit),
        ]
    table = Profile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET "
            "visit_count = p.visit_count + CASE WHEN p.visit_count = 0 "
            "OR v.first_at - p.last_seen >= %s THEN 1 ELSE 0 END, "
            "last_seen = GREATEST(p.last_seen, v.last_at), last_context = v.context, "
            "bucketing_id = CASE WHEN p.bucketing_id = '' THEN v.unit ELSE p.bucketing_id END, "
            "updated_at = %s "
            f"FROM (VALUES {rows}) AS v(user_id, first_at, last_at, context, unit) "
            "WHERE p.site_id = %s AND p.user_id = v.user_id AND p.consent",
            [VISIT_GAP, now, *params, site_id],
        )


def _visits_update_orm(
    *, site_id: int, people: dict[str, VisitRecord], user_ids: list[str], now: datetime
) -> None:
    when = datetime.fromisoformat
    profiles = list(
        Profile.objects.filter(site_id=site_id, user_id__in=user_ids).only(
            "pk", "user_id", "visit_count", "last_seen", "bucketing_id"
        )
    )
    for profile in profiles:
        visit = people[profile.user_id]
        if not profile.bucketing_id:
            profile.bucketing_id = _bucketing_unit(visit)
        first, last = when(visit["first_at"]), when(visit["last_at"])
        if profile.visit_count == 0 or first - profile.last_seen >= VISIT_GAP:
            profile.visit_count += 1
        profile.last_seen = max(profile.last_seen, last)
        profile.last_context = visit["context"]
        profile.updated_at = now
    Profile.objects.bulk_update(
        profiles, ["visit_count", "last_seen", "last_context", "bucketing_id", "updated_at"]
    )


def _links_record(
    *, site_id: int, people: dict[str, VisitRecord], profile_ids: dict[str, int]
) -> None:
    """Link the batch's anonymous ids (see `_link`) in a few queries for the whole batch:
    the common case (ids already linked to their person) is one query."""
    wanted = {v: profile_ids[u] for u in profile_ids for v in people[u]["visitor_ids"] if v}
    if not wanted:
        return
    existing = dict(
        VisitorLink.objects.filter(site_id=site_id, visitor_id__in=list(wanted)).values_list(
            "visitor_id", "profile_id"
        )
    )
    changed = [v for v, pid in wanted.items() if existing.get(v) != pid]
    if not changed:
        return
    by_profile: dict[int, list[str]] = {}
    for v in changed:
        by_profile.setdefault(wanted[v], []).append(v)
    for profile_id, ids in by_profile.items():
        _link(site_id=site_id, profile=Profile(pk=profile_id, site_id=site_id), visitor_ids=ids)


def _profile_locked(
    *, site_id: int, user_id: str, seen_at: datetime | None = None
) -> tuple[Profile, bool]:
    """The person's row, locked for this transaction (created when new), and whether it was
    created here."""
    profile = Profile.objects.select_for_update().filter(site_id=site_id, user_id=user_id).first()
    if profile is not None:
        return profile, False
    seen_at = seen_at or timezone.now()
    try:
        with transaction.atomic():
            created = Profile.objects.create(
                site_id=site_id, user_id=user_id, first_seen=seen_at, last_seen=seen_at
            )
            return created, True
    except IntegrityError:  # created concurrently
        return Profile.objects.select_for_update().get(site_id=site_id, user_id=user_id), False


def _link(*, site_id: int, profile: Profile, visitor_ids: Iterable[str]) -> None:
    """Link anonymous ids to the profile (moving them from another profile if needed) and
    attach the anonymous events they recorded, so history follows the person."""
    ids = [v for v in dict.fromkeys(visitor_ids) if v]
    if not ids:
        return
    # A person not bucketed yet takes the first anonymous id linked to them as their unit.
    Profile.objects.filter(pk=profile.pk, bucketing_id="").update(bucketing_id=ids[0])
    existing = dict(
        VisitorLink.objects.filter(site_id=site_id, visitor_id__in=ids).values_list(
            "visitor_id", "profile_id"
        )
    )
    moved = [v for v, pid in existing.items() if pid != profile.pk]
    if moved:
        VisitorLink.objects.filter(site_id=site_id, visitor_id__in=moved).update(profile=profile)
    new = [
        VisitorLink(site_id=site_id, visitor_id=v, profile=profile)
        for v in ids
        if v not in existing
    ]
    if new:
        VisitorLink.objects.bulk_create(new, ignore_conflicts=True)
    attached = Event.objects.filter(
        site_id=site_id, visitor_id__in=ids, profile__isnull=True
    ).update(profile=profile)
    if attached:
        profile_recent_events_refresh(profile_ids=[profile.pk])
        counters_recompute(site_id=site_id, profile_ids=[profile.pk])


# --- events -------------------------------------------------------------------------------------


class IngestAnswer(TypedDict):
    received: int
    stored: int
    duplicates: int
    consent: bool


@dataclass
class IngestResult:
    received: int
    stored: int
    duplicates: int
    consent: bool = True

    def as_dict(self) -> IngestAnswer:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "consent": self.consent,
        }


def events_ingest(*, site_id: int, batch: EventBatch, caller: Caller) -> IngestResult:
    """Store a validated batch in one bulk insert. Events whose id was already stored are
    skipped (retries are idempotent). Consent false: nothing is stored. A public caller's
    user ids need proof: without it the whole batch is refused (400 naming `user_hash`)."""
    events = batch.events
    if caller == "public":
        _events_identity_check(site_id=site_id, events=events)
    if not batch.consent:
        return IngestResult(received=len(events), stored=0, duplicates=0, consent=False)
    with transaction.atomic():
        profiles = _profiles_for_events(site_id=site_id, events=events)
        if connection.vendor == "postgresql" and len(events) >= COPY_MIN_EVENTS:
            stored, touched = _events_copy(site_id=site_id, events=events, profiles=profiles)
            candidates = events
        else:
            stored, touched, candidates = _events_bulk_create(
                site_id=site_id, events=events, profiles=profiles
            )
        if touched:
            # Behavioural counters, in this transaction (exact: duplicates skipped by the
            # database make it recompute the people concerned from their stored events).
            counters_ingest(
                site_id=site_id,
                events=[
                    (_event_profile(e, profiles), e.name, e.properties, e.occurred_at)
                    for e in candidates
                ],
                complete=stored == len(candidates),
            )
        if touched:
            transaction.on_commit(lambda: _dispatch_recent_events(profile_ids=touched))
    return IngestResult(received=len(events), stored=stored, duplicates=len(events) - stored)


# Batches of at least this many events go through COPY on PostgreSQL (below it, one
# INSERT costs less than creating the statement pipeline of a COPY).
COPY_MIN_EVENTS = 50
_EVENT_COLUMNS = (
    "site_id, profile_id, visitor_id, event_id, kind, name, properties, occurred_at, "
    "received_at, slot, variant, reason, reason_key"
)


def _event_profile(e: EventInput, profiles: dict[tuple[str, str], int]) -> int | None:
    return profiles.get(("u", e.user_id)) if e.user_id else profiles.get(("v", e.visitor_id))


def _events_bulk_create(
    *, site_id: int, events: list[EventInput], profiles: dict[tuple[str, str], int]
) -> tuple[int, list[int], list[EventInput]]:
    """One INSERT, after looking up which event ids are stored already. Returns how many
    were stored, their profiles, and the events it tried to insert."""
    ids = [e.event_id for e in events if e.event_id]
    known: set[str] = set()
    if ids:
        known = set(
            Event.objects.filter(site_id=site_id, event_id__in=ids).values_list(
                "event_id", flat=True
            )
        )
    candidates = [e for e in events if not (e.event_id and e.event_id in known)]
    rows = [
        Event(
            site_id=site_id,
            profile_id=_event_profile(e, profiles),
            visitor_id=e.visitor_id,
            event_id=e.event_id,
            kind=e.kind,
            name=e.name,
            properties=e.properties,
            occurred_at=e.occurred_at,
            slot=e.slot,
            variant=e.variant,
            reason=e.reason,
            reason_key=e.reason_key,
        )
        for e in candidates
    ]
    touched = sorted({r.profile_id for r in rows if r.profile_id})
    return _events_insert_new(rows), touched, candidates


def _events_copy(
    *, site_id: int, events: list[EventInput], profiles: dict[tuple[str, str], int]
) -> tuple[int, list[int]]:
    """COPY into a per-connection temporary table, then one INSERT … SELECT … ON CONFLICT
    DO NOTHING: ids already stored (or racing in from a retry) are skipped by the unique
    (site, event_id) constraint itself, and RETURNING says exactly what was stored."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS personalize_event_batch ("
            "site_id bigint, profile_id bigint, visitor_id text, event_id text, kind text, "
            "name text, properties jsonb, occurred_at timestamptz, received_at timestamptz, "
            "slot text, variant text, reason text, reason_key text, position integer) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(
            f"COPY personalize_event_batch ({_EVENT_COLUMNS}, position) FROM STDIN"
        ) as copy:
            for position, e in enumerate(events):
                copy.write_row(
                    (
                        site_id,
                        _event_profile(e, profiles),
                        e.visitor_id,
                        e.event_id,
                        e.kind,
                        e.name,
                        json.dumps(e.properties),
                        e.occurred_at,
                        now,
                        e.slot,
                        e.variant,
                        e.reason,
                        e.reason_key,
                        position,
                    )
                )
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} ({_EVENT_COLUMNS}) "
            f"SELECT {_EVENT_COLUMNS} FROM personalize_event_batch ORDER BY position "
            "ON CONFLICT DO NOTHING RETURNING profile_id"
        )
        inserted = [row[0] for row in cursor.fetchall()]
        cursor.execute("TRUNCATE personalize_event_batch")
    return len(inserted), sorted({p for p in inserted if p is not None})


def _insert_ignoring_conflicts(model: Any, rows: list[Any]) -> int:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: how many rows this statement stored."""
    if not rows:
        return 0
    opts = model._meta
    fields = [f for f in opts.concrete_fields if f is not opts.pk and not f.generated]
    ops = connections[model.objects.db].ops
    size = max(min(500, ops.bulk_batch_size(fields, rows)), 1)
    stored = 0
    for start in range(0, len(rows), size):
        stored += len(
            model.objects._insert(
                rows[start : start + size],
                fields=fields,
                returning_fields=[opts.pk],
                on_conflict=OnConflict.IGNORE,
            )
        )
    return stored


def _events_insert_new(rows: list[Event]) -> int:
    """How many rows *this* statement stored: a concurrent retry of the same batch may have
    stored some since the check above, and the count must not claim them."""
    return _insert_ignoring_conflicts(Event, rows)


def _events_identity_check(*, site_id: int, events: list[EventInput]) -> None:
    verdicts: dict[tuple[str, str | None], bool] = {}
    problems: list[FieldError] = []
    for index, event in enumerate(events):
        if event.user_id is None:
            continue
        pair = (event.user_id, event.user_hash)
        if pair not in verdicts:
            verdicts[pair] = user_id_verified(
                site_id=site_id, user_id=event.user_id, user_hash=event.user_hash
            )
        if not verdicts[pair]:
            problems.append(
                {
                    "path": f"events[{index}].user_hash",
                    "message": "A user_id sent with a public key needs its user_hash (hex "
                    "HMAC-SHA256 of the user id with the site's identity secret), on the event "
                    "or in visitor.user_hash; or send the events from your server.",
                }
            )
    if problems:
        raise_errors(problems)


def _dispatch_recent_events(*, profile_ids: list[int]) -> None:
    from delivery.tasks import profile_recent_events_task

    profile_ids_chunks = [profile_ids[i : i + 200] for i in range(0, len(profile_ids), 200)]
    for chunk in profile_ids_chunks:
        # The events are stored; refreshing the profiles' copies is a follow-up that a
        # broker outage may drop (logged) without failing the request.
        publish_quietly(profile_recent_events_task, chunk)


def _profiles_for_events(*, site_id: int, events: list[EventInput]) -> dict[tuple[str, str], int]:
    """Profile ids for the batch: by user id (created when new, unless opted out) and by
    anonymous ids linked to a profile. Two or three queries for the whole batch."""
    user_ids = sorted({e.user_id for e in events if e.user_id})
    visitor_ids = sorted({e.visitor_id for e in events if not e.user_id})
    out: dict[tuple[str, str], int] = {}
    if user_ids:
        found = dict(
            Profile.objects.filter(site_id=site_id, user_id__in=user_ids).values_list(
                "user_id", "pk"
            )
        )
        missing = [u for u in user_ids if u not in found]
        if missing:
            now = timezone.now()
            Profile.objects.bulk_create(
                [
                    Profile(site_id=site_id, user_id=u, first_seen=now, last_seen=now)
                    for u in missing
                ],
                ignore_conflicts=True,
            )
            found.update(
                Profile.objects.filter(site_id=site_id, user_id__in=missing).values_list(
                    "user_id", "pk"
                )
            )
        out.update({("u", u): pk for u, pk in found.items()})
    if visitor_ids:
        out.update(
            {
                ("v", v): pk
                for v, pk in VisitorLink.objects.filter(
                    site_id=site_id, visitor_id__in=visitor_ids
                ).values_list("visitor_id", "profile_id")
            }
        )
    return out


def profile_recent_events_refresh(*, profile_ids: Iterable[int]) -> None:
    """Copy each profile's newest events onto its row (what decide evaluates event nodes on)."""
    for profile_id in profile_ids:
        recent = [
            engine.stored_event(name, properties, occurred_at)
            for name, properties, occurred_at in Event.objects.filter(profile_id=profile_id)
            .order_by("-occurred_at", "-pk")
            .values_list("name", "properties", "occurred_at")[:RECENT_EVENTS_CAP]
        ]
        Profile.objects.filter(pk=profile_id).update(recent_events=recent)


# --- profiles -----------------------------------------------------------------------------------


def profile_upsert(*, site_id: int, user_id: str, data: ProfileInput) -> tuple[Profile, bool]:
    """Merge traits (a null value deletes the trait), set consent, link anonymous ids.

    Withdrawing consent also clears what tracking collected (last context, recent events)."""
    with transaction.atomic():
        profile, created = _profile_locked(site_id=site_id, user_id=user_id)
        traits = dict(profile.traits or {})
        for key, value in data.traits.items():
            if value is None:
                traits.pop(key, None)
            else:
                traits[key] = value
        profile.traits = traits
        fields = ["traits", "updated_at"]
        if data.consent is not None:
            profile.consent = data.consent
            fields.append("consent")
            if not data.consent:
                profile.last_context = {}
                profile.recent_events = []
                profile.counters = {}
                fields += ["last_context", "recent_events", "counters"]
        profile.save(update_fields=fields)
        if data.visitor_ids:
            _link(site_id=site_id, profile=profile, visitor_ids=data.visitor_ids)
    profile.refresh_from_db()
    return profile, created


@dataclass
class Erasure:
    profiles: int
    events: int
    visitor_links: int
    static_memberships: int
    assignments: int = 0
    policy_decisions: int = 0


def profile_erase(*, site_id: int, user_id: str) -> Erasure | None:
    """Delete everything held about a person on a site: the profile, their events (also the
    ones recorded under linked anonymous ids or under the user id itself), the links,
    their static-segment memberships, their experiment assignments and their optimization
    decisions (under the same ids and their bucketing id). None when there is no such person."""
    with transaction.atomic():
        profile = (
            Profile.objects.select_for_update().filter(site_id=site_id, user_id=user_id).first()
        )
        if profile is None:
            return None
        linked = list(
            VisitorLink.objects.filter(site_id=site_id, profile=profile).values_list(
                "visitor_id", flat=True
            )
        )
        events, _ = (
            Event.objects.filter(site_id=site_id)
            .filter(Q(profile=profile) | Q(visitor_id__in=[*linked, user_id]))
            .delete()
        )
        units = {*linked, user_id, profile.bucketing_id} - {""}
        assignments, _ = Assignment.objects.filter(site_id=site_id, unit_id__in=units).delete()
        decisions, _ = PolicyDecision.objects.filter(site_id=site_id, unit_id__in=units).delete()
        links, _ = VisitorLink.objects.filter(site_id=site_id, profile=profile).delete()
        statics, _ = StaticMember.objects.filter(
            segment__in=Segment.objects.filter(site_id=site_id), user_id=user_id
        ).delete()
        profile.delete()
        if statics:
            site_config_bump(site_id=site_id)  # snapshots hold static member lists
    return Erasure(
        profiles=1,
        events=events,
        visitor_links=links,
        static_memberships=statics,
        assignments=assignments,
        policy_decisions=decisions,
    )
