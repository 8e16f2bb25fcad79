"""The embedded scheduler: under `make run` there is no broker and no `celery beat`, so a
daemon thread in the runserver process runs the `CELERY_BEAT_SCHEDULE` entries itself, at
their intervals (numbers, timedeltas or crontabs, read by Celery's own schedule classes),
calling the same tasks (eagerly, as every task runs without a broker). Each run is recorded
as the "embedded" SchedulerHeartbeat, which the admin shows.

It starts only where it should (`embedded_scheduler_wanted`): `EMBEDDED_SCHEDULER` on (the
default in debug mode without a broker), in the runserver process that serves requests
(the autoreloader's child, `RUN_MAIN=true`, or `--noreload`), never in tests or workers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery.schedules import BaseSchedule, crontab, maybe_schedule
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from personalize.celery import app as celery_app
from tenancy.services import scheduler_heartbeat_record

logger = logging.getLogger(__name__)

HEARTBEAT_NAME = "embedded"


@dataclass
class ScheduledTask:
    """One CELERY_BEAT_SCHEDULE entry and when this process last ran it."""

    name: str
    task: str
    schedule: BaseSchedule
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    last_run_at: datetime | None = None

    def is_due(self) -> bool:
        if self.last_run_at is None:
            return True
        return bool(self.schedule.is_due(self.last_run_at).is_due)


def scheduled_tasks(
    beat_schedule: Mapping[str, Mapping[str, Any]], *, now: datetime
) -> list[ScheduledTask]:
    """The entries of a beat schedule. Intervals run at once on start (a publish that fell
    due while nothing ran should not wait another interval); crontabs wait for their time."""
    out = []
    for name, entry in beat_schedule.items():
        schedule = maybe_schedule(entry["schedule"], app=celery_app)
        out.append(
            ScheduledTask(
                name=name,
                task=entry["task"],
                schedule=schedule,
                args=tuple(entry.get("args", ())),
                kwargs=dict(entry.get("kwargs", {})),
                last_run_at=now if isinstance(schedule, crontab) else None,
            )
        )
    return out


class EmbeddedScheduler:
    """Runs due entries every `tick` seconds on a daemon thread (`start`/`stop`)."""

    def __init__(
        self,
        beat_schedule: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        tick: float = 1.0,
        name: str = HEARTBEAT_NAME,
    ) -> None:
        schedule = settings.CELERY_BEAT_SCHEDULE if beat_schedule is None else beat_schedule
        self.entries = scheduled_tasks(schedule, now=timezone.now())
        self.tick = tick
        self.name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_pending(self) -> dict[str, datetime]:
        """Run every due entry once; record the runs. Returns task name → start time."""
        ran: dict[str, datetime] = {}
        errors: list[str] = []
        for entry in self.entries:
            if not entry.is_due():
                continue
            started = timezone.now()
            entry.last_run_at = started
            ran[entry.task] = started
            try:
                celery_app.tasks[entry.task].apply_async(args=entry.args, kwargs=entry.kwargs)
            except Exception as exc:  # one failing task must not stop the others
                logger.exception("Scheduled task %s failed", entry.task)
                errors.append(f"{entry.task}: {exc!r}")
        if ran:
            try:
                scheduler_heartbeat_record(name=self.name, ran=ran, error="\n".join(errors))
            except DatabaseError:  # e.g. migrations not applied yet: try again next run
                logger.exception("Could not record the scheduler heartbeat")
        return ran

    def _loop(self) -> None:
        # A worker imports the apps' tasks modules at start; so must we (autodiscovery).
        celery_app.loader.import_default_modules()
        try:
            while not self._stopping.is_set():
                close_old_connections()
                try:
                    self.run_pending()
                except Exception:  # keep scheduling whatever happens in one round
                    logger.exception("Embedded scheduler round failed")
                self._stopping.wait(self.tick)
        finally:
            connections.close_all()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, name="personalize-embedded-scheduler", daemon=True
        )
        self._thread.start()
        logger.info(
            "Embedded scheduler started: %s", ", ".join(e.name for e in self.entries) or "nothing"
        )

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def embedded_scheduler_wanted(*, argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether this process should run the embedded scheduler: on, and the serving runserver
    (with the autoreloader, the parent only watches files; the child has RUN_MAIN=true)."""
    if not getattr(settings, "EMBEDDED_SCHEDULER", False) or len(argv) < 2:
        return False
    if argv[1] != "runserver":
        return False
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


_started: EmbeddedScheduler | None = None
_start_lock = threading.Lock()


def embedded_scheduler_start(*, argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Start the process's one embedded scheduler when wanted here. True if it started."""
    global _started
    if not embedded_scheduler_wanted(argv=argv, environ=environ):
        return False
    with _start_lock:
        if _started is not None:
            return False
        _started = EmbeddedScheduler()
        _started.start()
    return True
