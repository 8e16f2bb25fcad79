"""Delivery's workflows and writes: it owns deciding for a visitor (validated input, then
snapshot, enriched context, visitor document and engine, shared by the API view and the
template tag), recording visits, ingesting event batches, and upserting and erasing
profiles. It knows nothing of HTTP: a decide returns its answer together with the
follow-up work (the visit record of a known visitor, queued on Celery) that the caller runs
once the answer is out, the API view after the response has been sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from delivery import engine
from delivery.enrich import enrich_context
from delivery.selectors import profile_for_decide
from delivery.snapshot import snapshot_get
from delivery.validation import DecideInput, EventBatch, EventInput, ProfileInput
from segments.models import Event, Profile, Segment, StaticMember, VisitorLink
from tenancy.failopen import publish_quietly
from tenancy.services import site_config_bump

RECENT_EVENTS_CAP = 100  # events kept on the profile row for decide (newest first)
VISIT_GAP = timedelta(minutes=30)  # a decide after this much silence starts a new visit
CONTEXT_DROP = ("ip", "user_agent")  # not kept in last_context


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
    user_agent: str = "",
    ip: str = "",
    now: datetime | None = None,
) -> Decision:
    """Decide every requested slot for one visitor. Anonymous: no SQL. Known: one query.

    Returns the answer and the follow-up work: run it after the answer has been sent.
    """
    now = now or timezone.now()
    snapshot = snapshot_get(site_id)
    context = enrich_context(
        data.context, user_agent=user_agent, ip=ip, site_timezone=snapshot.timezone, now=now
    )
    stored = None
    if data.user_id is not None and data.consent:
        stored = profile_for_decide(site_id=site_id, user_id=data.user_id)
        if stored is not None and not stored["consent"]:
            stored = None  # the person withdrew consent: decide on this request alone
    doc = engine.visitor_document(
        visitor_id=data.visitor_id,
        user_id=data.user_id,
        consent=data.consent,
        stored=stored,
        inline_profile=data.profile,
        context=context,
        visitor_extra=data.visitor_extra,
    )
    body: engine.DecideAnswer = {"visitor_id": data.visitor_id or data.user_id}
    body.update(
        engine.decide(
            snapshot,
            doc,
            now=now,
            placements=data.placements,
            screens=data.screens,
            explain=data.explain,
        )
    )
    followups: tuple[Callable[[], None], ...] = ()
    if data.user_id is not None and data.consent:
        followups = (
            _visit_dispatcher(
                site_id=site_id,
                user_id=data.user_id,
                visitor_id=data.visitor_id,
                context=context,
                now=now,
            ),
        )
    return Decision(body=body, snapshot=snapshot, followups=followups)


def _visit_dispatcher(
    *, site_id: int, user_id: str, visitor_id: str | None, context: dict[str, Any], now: datetime
) -> Callable[[], None]:
    def dispatch() -> None:
        from delivery.tasks import visit_record_task

        publish_quietly(visit_record_task, site_id, user_id, visitor_id, context, now.isoformat())

    return dispatch


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
) -> Profile | None:
    """A known visitor was seen: upsert the profile, count a visit after VISIT_GAP of silence,
    keep the last context and link the anonymous id. Nothing when the person opted out."""
    with transaction.atomic():
        profile, _ = _profile_locked(site_id=site_id, user_id=user_id, seen_at=seen_at)
        if not profile.consent:
            return profile
        if profile.visit_count == 0 or seen_at - profile.last_seen >= VISIT_GAP:
            profile.visit_count += 1
        profile.last_seen = max(profile.last_seen, seen_at)
        profile.last_context = _clean_context(context)
        profile.save(update_fields=["visit_count", "last_seen", "last_context", "updated_at"])
        if visitor_id and visitor_id != user_id:
            _link(site_id=site_id, profile=profile, visitor_ids=[visitor_id])
    return profile


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


def events_ingest(*, site_id: int, batch: EventBatch) -> IngestResult:
    """Store a validated batch in one bulk insert. Events whose id was already stored are
    skipped (retries are idempotent). Consent false: nothing is stored."""
    events = batch.events
    if not batch.consent:
        return IngestResult(received=len(events), stored=0, duplicates=0, consent=False)
    with transaction.atomic():
        profiles = _profiles_for_events(site_id=site_id, events=events)
        ids = [e.event_id for e in events if e.event_id]
        known: set[str] = set()
        if ids:
            known = set(
                Event.objects.filter(site_id=site_id, event_id__in=ids).values_list(
                    "event_id", flat=True
                )
            )
        rows = [
            Event(
                site_id=site_id,
                profile_id=profiles.get(("u", e.user_id))
                if e.user_id
                else profiles.get(("v", e.visitor_id)),
                visitor_id=e.visitor_id,
                event_id=e.event_id,
                kind=e.kind,
                name=e.name,
                properties=e.properties,
                occurred_at=e.occurred_at,
            )
            for e in events
            if not (e.event_id and e.event_id in known)
        ]
        # ignore_conflicts covers a concurrent retry racing this one.
        Event.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        touched = sorted({r.profile_id for r in rows if r.profile_id})
        if touched:
            transaction.on_commit(lambda: _dispatch_recent_events(profile_ids=touched))
    return IngestResult(received=len(events), stored=len(rows), duplicates=len(events) - len(rows))


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
            {"name": name, "properties": properties, "timestamp": occurred_at.isoformat()}
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
                fields += ["last_context", "recent_events"]
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


def profile_erase(*, site_id: int, user_id: str) -> Erasure | None:
    """Delete everything held about a person on a site: the profile, their events (also the
    ones recorded under linked anonymous ids or under the user id itself), the links and
    their static-segment memberships. None when there is no such person."""
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
        links, _ = VisitorLink.objects.filter(site_id=site_id, profile=profile).delete()
        statics, _ = StaticMember.objects.filter(
            segment__in=Segment.objects.filter(site_id=site_id), user_id=user_id
        ).delete()
        profile.delete()
        if statics:
            site_config_bump(site_id=site_id)  # snapshots hold static member lists
    return Erasure(profiles=1, events=events, visitor_links=links, static_memberships=statics)
