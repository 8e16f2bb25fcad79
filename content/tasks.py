"""Celery tasks of the content app: running due publish schedules every minute. The project
wires `BEAT_SCHEDULE` into its `CELERY_BEAT_SCHEDULE` (settings).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

RUN_DUE_SCHEDULES = "content.run_due_schedules"

BEAT_SCHEDULE = {
    "content-run-due-schedules": {"task": RUN_DUE_SCHEDULES, "schedule": 60.0},
}


@shared_task(name=RUN_DUE_SCHEDULES, ignore_result=True)
def run_due_schedules(now: str | None = None) -> int:
    """Run the schedules that are due at `now` (ISO 8601; default: the current time)."""
    from content.services.publishing import publish_schedules_run_due

    when = parse_datetime(now) if now else timezone.now()
    return len(publish_schedules_run_due(now=when))
