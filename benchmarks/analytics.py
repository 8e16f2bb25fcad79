"""Analytics benchmarks (`make bench`), on the same migrated PostgreSQL database as delivery's.

1. Events ingested per second through the API (gunicorn, 2 workers, 2 clients posting
   batches of 500) with attribution (slot, variant, reason in their columns) and without
   (the same facts in `properties`), in interleaved rounds: medians and their ratio
   (target >= 80 %).
2. The placement report over 90 days of rollups for 30 placements of 5 variants (two
   reasons each), rendered by the admin view, median of interleaved rounds beside the
   admin index page (the floor: an admin page with no report) and the 200 ms target.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import timedelta
from multiprocessing import Pool
from typing import Any

ROUNDS = int(os.environ.get("BENCH_ANALYTICS_ROUNDS", "5"))
BATCHES = int(os.environ.get("BENCH_ANALYTICS_BATCHES", "6"))
BATCH = 500
CLIENTS = 2
PLACEMENTS, VARIANTS, DAYS = 30, 5, 90


def setup() -> tuple[Any, str]:
    from benchmarks.loadgen import ensure_database
    from benchmarks.settings import delivery_database_url

    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    ensure_database(delivery_database_url())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from tenancy.models import Site
    from tenancy.services import api_key_create, site_create

    site = Site.objects.filter(slug="bench-analytics").first() or site_create(
        name="Bench analytics", slug="bench-analytics"
    )
    return site, api_key_create(site=site, kind="delivery", name="bench")[1]


def _events(run: str, b: int, attributed: bool) -> list[dict[str, Any]]:
    out = []
    for i in range(BATCH):
        kind = ("impression", "click", "conversion", "custom")[i % 4]
        slot, variant = f"placement_{i % 30:02d}", f"p{i % 30}-v{i % 5}"
        event: dict[str, Any] = {
            "id": f"{run}-{b}-{i}",
            "kind": kind,
            "name": ("impression", "click", "purchase", "video_played")[i % 4],
            "visitor_id": f"anon-{run}-{i % 97}",
            "properties": {"price": i % 90},
        }
        if attributed and kind in ("impression", "click"):
            event.update(slot=slot, variant=variant, reason={"kind": "segment", "segment": "s"})
        elif kind in ("impression", "click"):
            event["properties"].update(placement=slot, variant=variant, reason="segment")
        out.append(event)
    return out


def _client(args: tuple[int, str, str, bool]) -> int:
    from benchmarks.loadgen import post_events

    port, key, run, attributed = args
    return sum(
        post_events(port, key, _events(run, b, attributed))["stored"] for b in range(BATCHES)
    )


def bench_ingest(port: int, key: str) -> dict[str, float]:
    rates: dict[bool, list[float]] = {True: [], False: []}
    with Pool(CLIENTS) as pool:
        _client((port, key, f"warm-{uuid.uuid4().hex[:6]}", True))
        for r in range(ROUNDS):
            for attributed in (r % 2 == 0, r % 2 == 1):  # alternate which goes first
                tag = uuid.uuid4().hex[:8]
                args = [(port, key, f"{tag}-{c}", attributed) for c in range(CLIENTS)]
                t0 = time.perf_counter()
                stored = sum(pool.map(_client, args))
                rates[attributed].append(stored / (time.perf_counter() - t0))
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    print(
        f"ingest with attribution: {on:,.0f} events/s vs without {off:,.0f} events/s "
        f"= {on / off:.0%} (target >= 80 %; medians of {ROUNDS} interleaved rounds, "
        f"{CLIENTS} clients x {BATCHES} batches of {BATCH})"
    )
    return {"on": on, "off": off, "ratio": on / off}


def seed_rollups(site: Any) -> None:
    from django.utils import timezone

    from analytics.models import Metric, MetricDay, VariantDay
    from analytics.services.metrics import metric_create

    VariantDay.objects.filter(site=site).delete()
    MetricDay.objects.filter(site=site).delete()
    metric = Metric.objects.filter(site=site, key="bought").first() or metric_create(
        site=site, key="bought", name="Bought", kind="conversion", event="purchase"
    )
    today = timezone.now().date()
    traffic, metrics = [], []
    for d in range(DAYS):
        day = today - timedelta(days=d)
        for p in range(PLACEMENTS):
            for v in range(VARIANTS):
                for reason, key in (("segment", f"seg-{v}"), ("default", "")):
                    dims = {
                        "site": site,
                        "day": day,
                        "slot": f"placement_{p:02d}",
                        "variant": f"v{v}",
                        "reason": reason,
                        "reason_key": key,
                    }
                    n = 200 + (d * 7 + p * 3 + v) % 150
                    traffic.append(VariantDay(**dims, impressions=2 * n, visitors=n, clicks=n // 8))
                    metrics.append(
                        MetricDay(**dims, metric=metric, n=n, converted=n // 20, total=n // 20)
                    )
    VariantDay.objects.bulk_create(traffic, batch_size=5000)
    MetricDay.objects.bulk_create(metrics, batch_size=5000)
    print(f"rollups: {len(traffic):,} traffic and {len(metrics):,} metric rows ({DAYS} days)")


def bench_report(site: Any) -> dict[str, float]:
    from django.conf import settings
    from django.test import override_settings

    # No collectstatic here: the plain storage instead of the manifest (same template work).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        return _bench_report(site)


def _bench_report(site: Any) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    seed_rollups(site)
    user = get_user_model().objects.filter(username="bench-admin").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-admin", "b@example.com", "x")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    report_url = f"/admin/reports/slots/placement_07/?site={site.pk}&days=90"
    floor_url = "/admin/"
    for url in (report_url, floor_url):
        assert client.get(url, secure=True).status_code == 200
    times: dict[str, list[float]] = {report_url: [], floor_url: []}
    for _ in range(15):
        for url in (report_url, floor_url):
            t0 = time.perf_counter()
            response = client.get(url, secure=True)
            times[url].append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
    report, floor = statistics.median(times[report_url]), statistics.median(times[floor_url])
    print(
        f"placement report, 90 days x 30 placements: {report:.1f} ms median "
        f"(target < 200 ms: {report / 200:.2f}x of budget; admin index {floor:.1f} ms: "
        f"{report / floor:.1f}x)"
    )
    return {"report_ms": report, "floor_ms": floor}


def main() -> dict[str, Any]:
    print("== Analytics (issue 13) ==")
    from benchmarks.loadgen import BENCH_WSGI, free_port, start_gunicorn, stop_process

    site, key = setup()
    results: dict[str, Any] = {}
    port = free_port()
    server = start_gunicorn(port, app=BENCH_WSGI)
    try:
        results["ingest"] = bench_ingest(port, key)
    finally:
        stop_process(server)
    results["report"] = bench_report(site)
    return results


if __name__ == "__main__":
    main()
