"""Delivery benchmarks (issue 6), all in one run:

1. in-process decide for a site with 100 segments and 30 placements of 5 variants:
   median µs per decision (every placement and the screen decided; target ≤ 150 µs);
2. HTTP throughput and p50/p99 of POST /api/v1/decide under gunicorn (2 sync workers)
   against a bare Django JsonResponse view served the same way, load from a separate
   process on loopback (wrk when installed, else a Python multiprocess client);
   target: decide ≥ 50 % of the bare view's requests per second;
3. events ingested per second into PostgreSQL through POST /api/v1/events.

Database: BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/), database
`<name>_delivery` (personalize_bench_delivery; BENCH_DELIVERY_DATABASE_URL overrides), created
when missing and migrated. A separate database because the criteria benchmark keeps unmigrated
tables in personalize_bench itself. No timing is asserted anywhere: figures are printed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.request
import uuid
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.loadgen import (  # noqa: E402
    UNIQUE,
    ensure_database,
    ensure_wrk,
    free_port,
    run_wrk,
    start_gunicorn,
    stop_process,
)

HTTP_SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "5"))
# Rounds alternate bare / decide / decide3 so load from elsewhere on the machine hits all
# three alike; the median round per endpoint is reported.
HTTP_ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "3"))
HTTP_CONNECTIONS = int(os.environ.get("BENCH_HTTP_CONNECTIONS", "8"))
DECIDE_BODY = {
    "visitor": {"id": "anon-1"},
    "context": {
        "city": "Detroit",
        "weather": "rain",
        "device_type": "mobile",
        "os": "iOS",
        "os_version": "17.2",
        "local_time": "2026-11-22T19:05:00-05:00",
    },
}
# A typical page asks for a few slots, not all of them.
DECIDE_PAGE_BODY = {
    **DECIDE_BODY,
    "placements": ["placement_00", "placement_07", "placement_19"],
    "screens": ["home"],
}


# --- setup ---------------------------------------------------------------------------------------


def setup() -> tuple[Any, str, str]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    from benchmarks.settings import delivery_database_url

    url = delivery_database_url()
    ensure_database(url)
    print(f"database: {url}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from benchmarks.seed import seed_bench_site
    from tenancy.services import api_key_create

    t0 = time.perf_counter()
    site = seed_bench_site("bench-delivery")
    print(
        f"seeded site 'bench-delivery' (100 segments, 30 placements x 5 variants) in {time.perf_counter() - t0:.1f} s"  # noqa: E501
    )
    delivery = api_key_create(site=site, kind="delivery", name="bench")[1]
    server = api_key_create(site=site, kind="server", name="bench")[1]
    return site, delivery, server


# --- 1. in-process -------------------------------------------------------------------------------


def bench_inprocess(site_id: int) -> dict[str, float]:
    from django.utils import timezone

    from benchmarks.seed import visitor_documents
    from delivery import engine
    from delivery.services import decide_for_visitor
    from delivery.snapshot import snapshot_build, snapshot_install
    from delivery.validation import validate_decide

    snapshot = snapshot_build(site_id)
    assert len(snapshot.published.placements) == 30 and len(snapshot.rules) == 100, (
        snapshot.broken_segments
    )
    snapshot_install(snapshot)
    docs = visitor_documents(2000)
    now = timezone.now()
    for doc in docs:  # warm-up
        engine.decide(snapshot, engine.prepare_document(dict(doc)), now=now)
    samples: list[int] = []
    clock = time.perf_counter_ns
    prepare = engine.prepare_document
    for _ in range(5):
        for doc in docs:
            fresh = dict(doc)  # JSON-like input, as the service builds it
            t0 = clock()
            engine.decide(snapshot, prepare(fresh), now=now)
            samples.append(clock() - t0)
    engine_median = statistics.median(samples) / 1000
    engine_p99 = sorted(samples)[int(len(samples) * 0.99)] / 1000

    # The whole service path of an anonymous API decide, minus HTTP: validation,
    # enrichment (local time), document, engine — no SQL.
    inputs = [
        validate_decide({"visitor": {"id": d["visitor"]["id"]}, "context": d["context"]})
        for d in docs
        if not d["visitor"]["is_known"]
    ]
    for data in inputs:
        decide_for_visitor(site_id=site_id, data=data, caller="public", now=now)
    service: list[int] = []
    for _ in range(3):
        for data in inputs:
            t0 = clock()
            decide_for_visitor(site_id=site_id, data=data, caller="public", now=now)
            service.append(clock() - t0)
    service_median = statistics.median(service) / 1000
    print(
        f"engine.decide, 30 placements + 1 screen, {len(docs)} varied visitors x 5: "
        f"median {engine_median:.1f} µs, p99 {engine_p99:.1f} µs per decision (target ≤ 150 µs)"
    )
    print(
        f"decide_for_visitor (validate + enrich + engine, anonymous): median {service_median:.1f} µs"  # noqa: E501
    )
    return {
        "engine_median_us": engine_median,
        "engine_p99_us": engine_p99,
        "service_median_us": service_median,
    }


# --- 2. HTTP --------------------------------------------------------------------------------------


def _py_client(args: tuple[str, str, str, float, dict[str, Any]]) -> list[float]:
    import http.client

    host_port, path, key, seconds, template = args
    host, port = host_port.split(":")
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Api-Key {key}",
        "Connection": "close",
    }
    while time.perf_counter() < end:
        body = json.dumps({**template, "visitor": {"id": f"anon-{uuid.uuid4().hex[:8]}"}})
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status == 200:
            latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def run_python_client(port: int, path: str, key: str, body: dict[str, Any]) -> dict[str, float]:
    with Pool(HTTP_CONNECTIONS) as pool:
        t0 = time.perf_counter()
        results = pool.map(
            _py_client, [(f"127.0.0.1:{port}", path, key, HTTP_SECONDS, body)] * HTTP_CONNECTIONS
        )
        elapsed = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r)
    return {
        "rps": len(lat) / elapsed,
        "p50_ms": lat[len(lat) // 2],
        "p99_ms": lat[int(len(lat) * 0.99)],
        "non_2xx": 0,
        "socket_errors": "",
    }


def bench_http(port: int, key: str) -> dict[str, dict[str, float]]:
    # warm both workers (snapshot build, key cache) before measuring
    for _ in range(50):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/decide",
            data=json.dumps(DECIDE_BODY).encode(),
            headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
            method="POST",
        )
        assert urllib.request.urlopen(req, timeout=10).status == 200
    wrk = ensure_wrk()
    tool = (
        f"wrk (2 threads, {HTTP_CONNECTIONS} connections, {HTTP_SECONDS:g} s)"
        if wrk
        else f"Python client ({HTTP_CONNECTIONS} processes, {HTTP_SECONDS:g} s)"
    )
    out = {}
    runs = (
        ("bare", "/bench/bare", DECIDE_BODY),
        ("decide", "/api/v1/decide", DECIDE_BODY),
        ("decide3", "/api/v1/decide", DECIDE_PAGE_BODY),
    )
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in runs}
    for _ in range(HTTP_ROUNDS):
        for name, path, body in runs:
            if wrk:
                template = json.dumps({**body, "visitor": {"id": f"anon-{UNIQUE}"}})
                url = f"http://127.0.0.1:{port}{path}"
                rounds[name].append(
                    run_wrk(
                        wrk, url, key, template, seconds=HTTP_SECONDS, connections=HTTP_CONNECTIONS
                    )
                )
            else:
                rounds[name].append(run_python_client(port, path, key, body))
    for name, _, _ in runs:
        ordered = sorted(rounds[name], key=lambda r: r["rps"])
        out[name] = ordered[len(ordered) // 2]
        out[name]["rounds_rps"] = [round(r["rps"]) for r in rounds[name]]
        r = out[name]
        extra = f", non-2xx {r['non_2xx']}" if r["non_2xx"] else ""
        print(
            f"{name:>7}: {r['rps']:8.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms{extra}"  # noqa: E501
            f"  rounds {r['rounds_rps']}  [{tool}, median of {HTTP_ROUNDS} rounds]"
        )
    ratio = out["decide"]["rps"] / out["bare"]["rps"]
    ratio3 = out["decide3"]["rps"] / out["bare"]["rps"]
    print(
        f"decide (all 30 placements + screen) / bare JsonResponse throughput: {ratio:.0%} "
        "(target ≥ 50 %)"
    )
    print(f"decide (a page: 3 placements + screen) / bare JsonResponse throughput: {ratio3:.0%}")
    out["ratio"] = {"value": ratio, "page": ratio3}
    return out


# --- 3. events ------------------------------------------------------------------------------------


def _events_client(args: tuple[int, str, int, int, str]) -> tuple[int, int]:
    import http.client

    port, key, batches, size, run = args
    stored = received = 0
    for b in range(batches):
        events = [
            {
                "id": f"{run}-{b}-{i}",
                "kind": ("impression", "click", "conversion", "custom")[i % 4],
                "name": ("impression", "click", "purchase", "video_played")[i % 4],
                "properties": {
                    "placement": f"placement_{i % 30:02d}",
                    "variant": f"p{i % 30}-v{i % 5}",
                    "price": i % 90,
                },
                "visitor_id": f"anon-{run}-{i % 97}",
            }
            for i in range(size)
        ]
        body = json.dumps({"events": events})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(
            "POST",
            "/api/v1/events",
            body,
            {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
        )
        resp = conn.getresponse()
        data = json.loads(resp.read())
        conn.close()
        if resp.status != 202:
            raise RuntimeError(f"events: HTTP {resp.status} {data}")
        stored += data["stored"]
        received += data["received"]
    return stored, received


def bench_events(port: int, key: str, site_id: int) -> dict[str, float]:
    from segments.models import Event

    clients, batches, size = 4, int(os.environ.get("BENCH_EVENT_BATCHES", "25")), 500
    before = Event.objects.filter(site_id=site_id).count()
    _events_client((port, key, 1, 50, f"warm-{uuid.uuid4().hex[:6]}"))
    args = [(port, key, batches, size, f"c{c}-{uuid.uuid4().hex[:6]}") for c in range(clients)]
    t0 = time.perf_counter()
    with Pool(clients) as pool:
        results = pool.map(_events_client, args)
    elapsed = time.perf_counter() - t0
    stored = sum(r[0] for r in results)
    in_db = Event.objects.filter(site_id=site_id).count() - before - 50
    rate = stored / elapsed
    print(
        f"events: {stored:,} stored in {elapsed:.2f} s = {rate:,.0f} events/s "
        f"({clients} clients x {batches} batches of {size}; {in_db:,} new rows in PostgreSQL)"
    )
    # retrying a batch is idempotent and cheap
    t0 = time.perf_counter()
    again = _events_client((port, key, 1, size, args[0][4]))
    print(
        f"events: retried batch of {size}: {again[0]} stored (duplicates skipped) in "
        f"{(time.perf_counter() - t0) * 1000:.0f} ms"
    )
    return {"events_per_s": rate, "stored": stored}


# --- main ---------------------------------------------------------------------------------


def main() -> dict[str, Any]:
    print("== Delivery (issue 6) ==")
    site, delivery_key, _server_key = setup()
    results: dict[str, Any] = {"inprocess": bench_inprocess(site.pk)}
    port = free_port()
    server = start_gunicorn(port)
    try:
        results["http"] = bench_http(port, delivery_key)
        results["events"] = bench_events(port, delivery_key, site.pk)
    finally:
        stop_process(server)
    return results


if __name__ == "__main__":
    main()
