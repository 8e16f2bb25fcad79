"""Liveness and readiness probes.

`/readyz/` answers 503 when the database is down (nothing can be managed, no snapshot can
be built) and 200 with `"status": "degraded"` naming the dependency when only the cache or
the broker is: delivery fails open without them (tenancy.failopen), so taking the instance
out of the load balancer would only make things worse.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


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
        except Exception as exc:  # any failure: say which and why
            results[name] = f"down: {type(exc).__name__}: {exc}"[:300]
            failing.append(name)
    if ESSENTIAL.intersection(failing):
        return JsonResponse(
            {"status": "unavailable", "failing": failing, "checks": results}, status=503
        )
    if failing:
        return JsonResponse({"status": "degraded", "degraded": failing, "checks": results})
    return JsonResponse({"status": "ok", "checks": results})
