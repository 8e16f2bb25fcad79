"""Fail-open access to Redis and the Celery broker for the delivery path.

Delivery must be no more fragile than its database: Redis only speeds it up (key lookups,
config versions, CORS origins) and counts (throttles, last-used stamps), and the broker only
carries follow-up work. So every such call on the delivery path goes through here:

- reads answer None (a miss) when Redis fails, so callers fall back to the database or to
  their per-process copies; writes are skipped quietly;
- counters and "at most once per interval" stamps fall back to a per-process cache, so
  throttling degrades to per-process counting instead of failing or switching off;
- a failure opens a per-process circuit breaker: for RETRY_INTERVAL seconds Redis (or the
  broker) is not asked at all, so a stalled Redis costs one socket timeout per process and
  interval, not one per request (the timeouts themselves are in settings.CACHES).

Management code keeps using `django.core.cache` directly: it may fail loudly.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

# Per-process stand-in for the shared cache while it is unavailable.
local_cache = LocMemCache("personalize-failopen", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


class Breaker:
    """A per-process circuit breaker: after a failure, skip the dependency for a while."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open_until = 0.0
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return float(getattr(settings, "PERSONALIZE_FAILOPEN_RETRY_INTERVAL", 5.0))

    def closed(self) -> bool:
        """Whether the dependency may be tried now."""
        return time.monotonic() >= self.open_until

    def trip(self, exc: BaseException) -> None:
        with self._lock:
            already_open = not self.closed()
            self.open_until = time.monotonic() + self.interval
        if not already_open:
            logger.warning(
                "%s unavailable (%s: %s); failing open for %.1f s",
                self.name,
                type(exc).__name__,
                exc,
                self.interval,
            )

    def reset(self) -> None:
        self.open_until = 0.0


cache_breaker = Breaker("cache")
broker_breaker = Breaker("broker")


def cache_available() -> bool:
    return cache_breaker.closed()


def _shared(method: str, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """(True, result) from the shared cache, or (False, None) when it is unavailable."""
    if not cache_breaker.closed():
        return False, None
    try:
        return True, getattr(shared_cache, method)(*args, **kwargs)
    except ValueError:
        raise  # incr of a missing key: an answer, not a failure
    except Exception as exc:  # any client, socket or server error: fail open
        cache_breaker.trip(exc)
        return False, None


def cache_get_or_none(key: str) -> Any:
    """The shared cache's value, or None on a miss or when it is unavailable."""
    return _shared("get", key)[1]


def cache_set_quietly(key: str, value: Any, timeout: float | None) -> bool:
    """Write to the shared cache; False (and nothing raised) when it is unavailable."""
    ok, _ = _shared("set", key, value, timeout)
    return ok


def cache_add_quietly(key: str, value: Any, timeout: float | None) -> bool:
    """`cache.add` on the shared cache; False when the key exists or the cache is down."""
    ok, added = _shared("add", key, value, timeout)
    return bool(ok and added)


def cache_delete_quietly(*keys: str) -> None:
    _shared("delete_many", list(keys))


def cache_add_or_local(key: str, value: Any, timeout: float) -> bool:
    """`cache.add` on the shared cache, or on this process's cache while it is unavailable
    (so "once per interval" becomes once per interval per process)."""
    ok, added = _shared("add", key, value, timeout)
    if ok:
        return bool(added)
    return local_cache.add(key, value, timeout)


def cache_count(key: str, timeout: float) -> int:
    """Increment the counter `key` (created at 1, expiring after `timeout` seconds) and
    return it: shared between processes, or per process while the shared cache is down."""
    ok, added = _shared("add", key, 1, timeout)
    if ok:
        if added:
            return 1
        try:
            ok, count = _shared("incr", key)
        except ValueError:  # expired between add and incr
            ok, count = _shared("add", key, 1, timeout)
            count = 1
        if ok:
            return int(count)
    if local_cache.add(key, 1, timeout):
        return 1
    try:
        return local_cache.incr(key)
    except ValueError:
        local_cache.add(key, 1, timeout)
        return 1


class FailOpenCache:
    """The `get`/`set` of a Django cache for DRF's SimpleRateThrottle: the shared cache, or
    this process's while the shared one is unavailable."""

    def get(self, key: str, default: Any = None) -> Any:
        ok, value = _shared("get", key, default)
        return value if ok else local_cache.get(key, default)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        if not cache_set_quietly(key, value, timeout):
            local_cache.set(key, value, timeout)


def publish_quietly(task: Any, *args: Any) -> bool:
    """Queue a non-essential Celery task; when the broker is unavailable, drop it with a log
    line (and skip the broker for a while) instead of failing the request.

    In eager mode (no broker) the task runs here, and its failure is logged the same way."""
    if not broker_breaker.closed():
        logger.warning("broker unavailable: dropped %s%r", task.name, args)
        return False
    try:
        task.delay(*args)
    except Exception as exc:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.warning("follow-up task %s failed: %s: %s", task.name, type(exc).__name__, exc)
        else:
            broker_breaker.trip(exc)
            logger.warning("broker unavailable: dropped %s%r", task.name, args)
        return False
    return True
