"""Delivery's per-process buffer of known visitors' visits: it owns keeping the visit
record off the request path in every mode. A decide adds its visit here (a dict update);
a background thread hands everything buffered to `visits_record_task` once per
`PERSONALIZE_VISIT_FLUSH_SECONDS` (or when `MAX_BUFFERED` people are waiting), one task
for many visits. With a broker that is one publish per flush instead of one per request;
without one (eager Celery) the writes run in the flush thread, never in a request.

Visits of the same person inside one flush window are coalesced (earliest and latest
time, last context, every anonymous id), and a decide is not recorded at all when the
stored `last_seen` is less than `TOUCH_INTERVAL` old and its anonymous id was linked by
this process within that interval: it would change nothing but a timestamp that is, by
design, exact to `TOUCH_INTERVAL` (the visit count itself stays exact, since a visit
starts only after `VISIT_GAP` of silence). `PERSONALIZE_VISIT_FLUSH_SECONDS = 0` writes
in the caller instead (tests, one-off scripts).

Experiment exposures ride the same buffer (`exposure_add`): first exposures of a unit to an
experiment phase, deduplicated per process (a bounded memo) and handed to
`exposures_record_task` by the same flush, so an anonymous decide stays free of SQL; the
database's unique (experiment, phase, unit) keeps only the first across processes.
Optimization decisions ride it too (`decision_add`, `decision_recorded`): a unit's first
decision under each model version, deduplicated per process the same way and handed to
`policy_decisions_record_task`; the unique (optimization, version, unit) keeps the first.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings

from tenancy.failopen import publish_quietly

logger = logging.getLogger(__name__)

TOUCH_INTERVAL = timedelta(seconds=60)  # how stale a known visitor's last_seen may be
MAX_BUFFERED = 1000  # people waiting before a flush is forced
_REMEMBERED_LINKS = 50_000  # bound of the per-process memo of recorded (person, anon id)


class VisitRecord(TypedDict):
    """Every decide of one person in one flush window (what `visits_record` writes)."""

    site_id: int
    user_id: str
    visitor_ids: list[str]
    context: dict[str, Any]
    first_at: str  # ISO 8601: the earliest decide (starts a visit after VISIT_GAP)
    last_at: str  # ISO 8601: the latest decide (becomes last_seen)


class ExposureRecord(TypedDict):
    """A unit first seen in an experiment arm (what `exposures_record` writes)."""

    site_id: int
    experiment: str  # key
    phase: int
    unit_id: str
    arm: str
    probability: float
    at: str  # ISO 8601
    user_id: str | None  # a known person: their profile keeps the assignment


class DecisionRecord(TypedDict):
    """A unit's decision by an optimization's policy (what `policy_decisions_record` writes)."""

    site_id: int
    optimization: str  # key
    version: int  # the model version; 0 is the uniform start policy
    unit_id: str
    arm: str
    propensity: float
    holdout: bool
    features: dict[str, Any]  # what the policy read, storable JSON
    at: str  # ISO 8601


_pending: dict[tuple[int, str], VisitRecord] = {}
_exposures: dict[tuple[int, str, int, str], ExposureRecord] = {}
_exposed: set[tuple[int, str, int, str, str | None]] = set()  # recorded by this process
_REMEMBERED_EXPOSURES = 200_000
_decisions: dict[tuple[int, str, int, str], DecisionRecord] = {}
_decided: set[tuple[int, str, int, str]] = set()  # (site, optimization, version, unit)
_linked: dict[tuple[int, str, str], datetime] = {}  # (site, user, anon id) -> recorded at
_lock = threading.Lock()
_wakeup = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None
_pid = 0


def flush_interval() -> float:
    return float(getattr(settings, "PERSONALIZE_VISIT_FLUSH_SECONDS", 1.0))


def visit_unchanged(
    *,
    site_id: int,
    user_id: str,
    visitor_id: str | None,
    stored: Mapping[str, Any] | None,
    now: datetime,
) -> bool:
    """Whether recording this decide would change nothing worth a write (see module doc):
    `stored` (the decide's profile row) has a visit whose last_seen is recent enough."""
    if stored is None or not stored.get("visit_count"):
        return False
    last_seen = stored.get("last_seen")
    if last_seen is None or not (timedelta(0) <= now - last_seen < TOUCH_INTERVAL):
        return False
    if not visitor_id or visitor_id == user_id:
        return True
    linked_at = _linked.get((site_id, user_id, visitor_id))
    return linked_at is not None and now - linked_at < TOUCH_INTERVAL


def visit_add(
    *,
    site_id: int,
    user_id: str,
    visitor_id: str | None,
    context: dict[str, Any],
    seen_at: datetime,
) -> None:
    """Buffer one decide's visit; it is written within the flush interval."""
    key = (site_id, user_id)
    at = seen_at.isoformat()
    with _lock:
        record = _pending.get(key)
        if record is None:
            record = _pending[key] = {
                "site_id": site_id,
                "user_id": user_id,
                "visitor_ids": [],
                "context": context,
                "first_at": at,
                "last_at": at,
            }
        else:
            record["context"] = context
            record["first_at"] = min(record["first_at"], at)
            record["last_at"] = max(record["last_at"], at)
        if visitor_id and visitor_id != user_id and visitor_id not in record["visitor_ids"]:
            record["visitor_ids"].append(visitor_id)
        if visitor_id:
            if len(_linked) >= _REMEMBERED_LINKS:
                _linked.clear()
            _linked[(site_id, user_id, visitor_id)] = seen_at
        full = len(_pending) >= MAX_BUFFERED
    interval = flush_interval()
    if interval <= 0:
        visits_flush()
        return
    _ensure_thread()
    if full:
        _wakeup.set()


def exposure_add(record: ExposureRecord) -> None:
    """Buffer a first exposure; it is written within the flush interval. Repeats of one
    (site, experiment, phase, unit, person) in this process are dropped here."""
    seen = (
        record["site_id"],
        record["experiment"],
        record["phase"],
        record["unit_id"],
        record["user_id"],
    )
    if seen in _exposed:
        return
    with _lock:
        if len(_exposed) >= _REMEMBERED_EXPOSURES:
            _exposed.clear()
        _exposed.add(seen)
        key = seen[:4]
        if key not in _exposures or record["user_id"] is not None:
            _exposures[key] = record  # type: ignore[index]
        full = len(_exposures) >= MAX_BUFFERED
    if flush_interval() <= 0:
        visits_flush()
        return
    _ensure_thread()
    if full:
        _wakeup.set()


def decision_recorded(key: tuple[int, str, int, str]) -> bool:
    """Whether this process has buffered the (site, optimization, version, unit) decision
    already: a repeat visit's decide need not build its record again."""
    return key in _decided


def decision_add(record: DecisionRecord) -> None:
    """Buffer an optimization decision; it is written within the flush interval. Repeats
    of one (site, optimization, version, unit) in this process are dropped here."""
    key = (record["site_id"], record["optimization"], record["version"], record["unit_id"])
    if key in _decided:
        return
    with _lock:
        if len(_decided) >= _REMEMBERED_EXPOSURES:
            _decided.clear()
        _decided.add(key)
        _decisions.setdefault(key, record)
        full = len(_decisions) >= MAX_BUFFERED
    if flush_interval() <= 0:
        visits_flush()
        return
    _ensure_thread()
    if full:
        _wakeup.set()


def visits_flush() -> int:
    """Hand every buffered visit to `visits_record_task` and every buffered exposure to
    `exposures_record_task` and every buffered optimization decision to
    `policy_decisions_record_task` now; returns how many people's visits."""
    global _pending, _exposures, _decisions
    with _lock:
        batch, _pending = list(_pending.values()), {}
        exposures, _exposures = list(_exposures.values()), {}
        decisions, _decisions = list(_decisions.values()), {}
    if batch:
        from delivery.tasks import visits_record_task

        # Non-essential: a broker outage drops the batch with a log line, never fails a
        # request.
        publish_quietly(visits_record_task, batch)
    if exposures:
        from delivery.tasks import exposures_record_task

        publish_quietly(exposures_record_task, exposures)
    if decisions:
        from delivery.tasks import policy_decisions_record_task

        publish_quietly(policy_decisions_record_task, decisions)
    return len(batch)


def visits_pending() -> int:
    return len(_pending)


def visits_forget() -> None:
    """Drop what is buffered and remembered, unwritten (tests)."""
    with _lock:
        _pending.clear()
        _linked.clear()
        _exposures.clear()
        _exposed.clear()
        _decisions.clear()
        _decided.clear()


def _run() -> None:
    global _thread
    from django.db import close_old_connections, connections

    while True:
        interval = flush_interval()
        if interval <= 0 or _stop.is_set():  # stopped, or the caller writes: not needed
            connections.close_all()
            _thread = None
            return
        _wakeup.wait(interval)
        _wakeup.clear()
        try:
            visits_flush()
        except Exception:
            logger.exception("flushing buffered visits failed")
        finally:
            close_old_connections()  # eager mode wrote with this thread's connection


def visits_stop(timeout: float = 5.0) -> None:
    """Flush and stop this process's flush thread (tests; a later visit starts it again)."""
    thread = _thread
    if thread is None:
        return
    _stop.set()
    _wakeup.set()
    thread.join(timeout)
    _stop.clear()


def _ensure_thread() -> None:
    global _thread, _pid
    if _thread is not None and _pid == os.getpid():
        return
    with _lock:
        if _thread is not None and _pid == os.getpid():
            return
        # A forked worker inherits neither the thread nor, safely, the parent's buffer.
        _pid = os.getpid()
        _thread = threading.Thread(target=_run, name="personalize-visits", daemon=True)
        _thread.start()


@atexit.register
def _flush_at_exit() -> None:
    if _pending or _exposures or _decisions:
        try:
            visits_flush()
        except Exception:  # the interpreter is going away: nothing more can be done
            logger.exception("flushing buffered visits at exit failed")
