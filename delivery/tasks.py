"""Delivery's Celery tasks: it owns the writes that must stay off the request path (known
visitors' visits, experiment exposures and optimization decisions, many per task, handed over by
`delivery.visit_buffer`; the recent events
copied onto a profile after an ingest); each task calls the service that does the work."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.utils.dateparse import parse_datetime


@shared_task(ignore_result=True)
def visits_record_task(visits: list[dict[str, Any]]) -> None:
    from delivery.services import visits_record

    visits_record(visits=visits)  # type: ignore[arg-type]


@shared_task(ignore_result=True)
def visit_record_task(
    site_id: int, user_id: str, visitor_id: str | None, context: dict[str, Any], seen_at: str
) -> None:
    """One visit (the form queued before visits were batched; kept for tasks in flight)."""
    from delivery.services import visit_record

    when = parse_datetime(seen_at)
    if when is None:
        return
    visit_record(
        site_id=site_id, user_id=user_id, visitor_id=visitor_id, context=context, seen_at=when
    )


@shared_task(ignore_result=True)
def exposures_record_task(exposures: list[dict[str, Any]]) -> None:
    """First exposures to experiments, many per task (handed over by the visit buffer)."""
    from delivery.services import exposures_record

    exposures_record(exposures=exposures)  # type: ignore[arg-type]


@shared_task(ignore_result=True)
def policy_decisions_record_task(decisions: list[dict[str, Any]]) -> None:
    """Optimization decisions with their propensities, many per task (from the visit
    buffer): a unit's first decision under each model version is kept."""
    from delivery.services import policy_decisions_record

    policy_decisions_record(decisions=decisions)  # type: ignore[arg-type]


@shared_task(ignore_result=True)
def profile_recent_events_task(profile_ids: list[int]) -> None:
    from delivery.services import profile_recent_events_refresh

    profile_recent_events_refresh(profile_ids=profile_ids)


@shared_task(bind=True, ignore_result=True)
def events_record_task(self: Task, site_id: int, body: dict[str, Any]) -> None:
    """Store events produced server-side (the template tag's impressions) like an API batch.

    An event without an id gets one derived from the message (its task id and position):
    a message delivered again after a worker died, or retried, stores nothing twice."""
    from django.utils import timezone

    from delivery.services import events_ingest
    from delivery.validation import validate_events

    if body.get("visitor", {}).get("user_id") is None:
        body["visitor"].pop("user_id", None)
    if self.request.id:
        for position, event in enumerate(body.get("events") or []):
            if isinstance(event, dict) and not event.get("id"):
                event["id"] = f"task:{self.request.id}:{position}"
    events_ingest(site_id=site_id, batch=validate_events(body, now=timezone.now()), caller="server")
