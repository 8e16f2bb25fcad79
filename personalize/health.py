"""Liveness and readiness probes.

`/readyz/` answers 503 when the database is down (nothing can be managed, no snapshot can
be built) and 200 with `"status": "degraded"` naming the dependency when only the cache or
the broker is: delivery fails open without them (tenancy.failopen), so taking the instance
out of the load balancer would only make things worse.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    token = uuid.uuid4().hex
    cache.set("readyz:probe", token, 10)
    if cache.get("readyz:probe") != token:
        raise RuntimeError("cache did not return what was written")


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from personalize.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.PERSONALIZE_READINESS_TIMEOUT)
    return "ok"


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}
ESSENTIAL = frozenset({"database"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    failing: list[str] = []
    for name, check in CHECKS.items():
        try:
            results[name] = check() or "ok"
        except Exception as exc:  # any failure means not ready: say which, log why
            # Exception text names hosts, databases and users: it goes to the log only.
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = f"down: {type(exc).__name__}"
            failing.append(name)
    down = [name for name in failing if name in ESSENTIAL]
    degraded = [name for name in failing if name not in ESSENTIAL]
    if down:
        return JsonResponse(
            {"status": "unavailable", "failing": down, "degraded": degraded, "checks": results},
            status=503,
        )
    if degraded:
        return JsonResponse({"status": "degraded", "degraded": degraded, "checks": results})
    return JsonResponse({"status": "ok", "checks": results})
