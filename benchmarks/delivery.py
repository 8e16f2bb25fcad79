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
import re
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
    BENCH_WSGI,
    ensure_database,
    ensure_wrk,
    free_port,
    post_events,
    start_gunicorn,
    stop_process,
    wrk_output,
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

    # What the anonymous HTTP rounds ask, minus HTTP: the service path and the response
    # bytes for the benchmark body (every slot) and the 3-placement page, fresh ids.
    bodies: dict[str, float] = {}
    for name, request_body in (("all slots", DECIDE_BODY), ("3-placement page", DECIDE_PAGE_BODY)):
        requests = [
            validate_decide({**request_body, "visitor": {"id": f"anon-{i}"}}) for i in range(2000)
        ]
        for data in requests[:200]:
            decide_for_visitor(site_id=site_id, data=data, caller="public", now=now).json()
        answered: list[int] = []
        for _ in range(3):
            for data in requests:
                t0 = clock()
                decide_for_visitor(site_id=site_id, data=data, caller="public", now=now).json()
                answered.append(clock() - t0)
        bodies[name] = statistics.median(answered) / 1000
    print(
        f"engine.decide, 30 placements + 1 screen, {len(docs)} varied visitors x 5: "
        f"median {engine_median:.1f} µs, p99 {engine_p99:.1f} µs per decision (target ≤ 150 µs)"
    )
    print(
        f"decide_for_visitor (validate + enrich + engine, anonymous): median {service_median:.1f} µs"  # noqa: E501
    )
    print(
        "the HTTP body in-process (service path + response bytes, validated input): "
        + ", ".join(f"{name} median {us:.1f} µs" for name, us in bodies.items())
    )
    return {
        "engine_median_us": engine_median,
        "engine_p99_us": engine_p99,
        "service_median_us": service_median,
        "http_body_all_slots_us": bodies["all slots"],
        "http_body_page_us": bodies["3-placement page"],
    }


# --- 2. HTTP --------------------------------------------------------------------------------------

KNOWN_POOL = int(os.environ.get("BENCH_KNOWN_PROFILES", "10000"))
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/10")
KNOWN_BODY = {**DECIDE_BODY, "visitor": {"id": "anon-1", "user_id": "u-known"}}


# Anonymous: a fresh id every request. Known: a random one of KNOWN_POOL people, each with
# their own stable anonymous id (one device per person).
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Api-Key %(key)s"
local body = '%(body)s'
request = function()
  local person = math.random(0, %(pool)d - 1)
  local id = "anon-" .. math.random(1, 10000000)
  if string.find(body, "u-known", 1, true) then id = "anon-u-" .. person end
  local b = string.gsub(body, "anon%%-1", id)
  b = string.gsub(b, "u%%-known", "u-" .. person)
  return wrk.format(nil, nil, nil, b)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(wrk: str, url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    out = wrk_output(
        wrk,
        WRK_SCRIPT % {"key": key, "body": json.dumps(body), "pool": KNOWN_POOL},
        url,
        threads=2,
        connections=HTTP_CONNECTIONS,
        seconds=HTTP_SECONDS,
        options=["--latency"],
    )
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "non_2xx": int(bad.group(1)) if bad else 0,
    }


def _py_client(args: tuple[str, str, str, float, dict[str, Any]]) -> list[float]:
    import http.client
    import random

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
        visitor = {**template["visitor"], "id": f"anon-{uuid.uuid4().hex[:8]}"}
        if "user_id" in visitor:
            person = random.randrange(KNOWN_POOL)
            visitor.update(id=f"anon-u-{person}", user_id=f"u-{person}")
        body = json.dumps({**template, "visitor": visitor})
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status == 200:
            latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def run_python_client(port: int, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
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
    }


def seed_known_profiles(site_id: int) -> None:
    """KNOWN_POOL people `u-0`… with traits and 20 recent events each (created once)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from benchmarks.seed import CITIES, INTERESTS
    from delivery.engine import stored_event
    from segments.models import Event, Profile

    have = Profile.objects.filter(site_id=site_id, user_id__startswith="u-").count()
    if have >= KNOWN_POOL:
        _counters_ready(site_id, restart=False)
        return
    now = timezone.now()
    rows = []
    for i in range(KNOWN_POOL):
        events = [
            stored_event(
                ("purchase", "view", "click")[k % 3],
                {"price": (i + k) % 90, "category": INTERESTS[k % 8]},
                now - timedelta(hours=k * 7 + i % 5),
            )
            for k in range(20)
        ]
        rows.append(
            Profile(
                site_id=site_id,
                user_id=f"u-{i}",
                traits={
                    "age": 18 + i % 60,
                    "gender": ("female", "male", "non_binary")[i % 3],
                    "city": CITIES[i % len(CITIES)],
                    "interests": [INTERESTS[i % 8], INTERESTS[(i * 3) % 8]],
                    "lifetime_value": (i * 7) % 400,
                },
                recent_events=events,
            )
        )
    Profile.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    # The same events stored, so the behavioural counters are backfilled from real rows.
    ids = dict(
        Profile.objects.filter(site_id=site_id, user_id__startswith="u-").values_list(
            "user_id", "pk"
        )
    )
    Event.objects.bulk_create(
        [
            Event(
                site_id=site_id,
                profile_id=ids[p.user_id],
                visitor_id=f"anon-{p.user_id}",
                name=e["name"],
                properties=e["properties"],
                occurred_at=e["timestamp"],
            )
            for p in rows
            for e in p.recent_events
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:  # fresh statistics for the lookups by user id
        cursor.execute(f"ANALYZE {Profile._meta.db_table}")
        cursor.execute(f"ANALYZE {Event._meta.db_table}")
    print(f"seeded {KNOWN_POOL:,} known profiles (20 recent events each, stored too)")
    _counters_ready(site_id, restart=True)


def _counters_ready(site_id: int, *, restart: bool) -> None:
    """Backfill the site's behavioural counters, so known decides read them (as in
    production once a segment's backfill is done) instead of scanning recent events."""
    from segments.models import CounterSpec, CounterState
    from segments.services.counters import counter_backfill, counter_specs_sync

    counter_specs_sync(site_id=site_id)
    if restart:  # specs made ready before the people were bulk-loaded (not ingested)
        CounterSpec.objects.filter(site_id=site_id).update(
            state=CounterState.BACKFILLING, cursor=0, done=0
        )
    for spec_id in CounterSpec.objects.filter(site_id=site_id).values_list("pk", flat=True):
        counter_backfill(spec_id=spec_id)
    specs = CounterSpec.objects.filter(site_id=site_id)
    ready = specs.filter(state=CounterState.READY).count()
    print(f"behavioural counters: {ready} of {specs.count()} specs ready")


def _purge_broker_queue(url: str) -> None:
    """Visits published to the broker during the run (no worker consumes them here)."""
    try:
        import redis

        redis.Redis.from_url(url).delete("celery")
    except Exception as exc:  # the figures are printed already; say why nothing was purged
        print(f"(could not purge the broker queue: {exc})")


def bench_http(site_id: int, key: str) -> dict[str, Any]:
    from benchmarks.stats import figure

    seed_known_profiles(site_id)
    eager_port, broker_port = free_port(), free_port()
    eager = start_gunicorn(eager_port, app=BENCH_WSGI)
    broker = start_gunicorn(
        broker_port, app=BENCH_WSGI, extra_env={"CELERY_BROKER_URL": BROKER_URL}
    )
    try:
        for port in (eager_port, broker_port):
            # warm both workers (snapshot build, key cache) before measuring
            for body in (DECIDE_BODY, KNOWN_BODY, DECIDE_BODY):
                for _ in range(25):
                    payload = json.loads(json.dumps(body).replace("u-known", "u-1"))
                    req = urllib.request.Request(
                        f"http://127.0.0.1:{port}/api/v1/decide",
                        data=json.dumps(payload).encode(),
                        headers={
                            "Authorization": f"Api-Key {key}",
                            "Content-Type": "application/json",
                        },
                        method="POST",
                    )
                    assert urllib.request.urlopen(req, timeout=10).status == 200
        wrk = ensure_wrk()
        tool = (
            f"wrk, 2 threads, {HTTP_CONNECTIONS} connections, {HTTP_SECONDS:g} s a round"
            if wrk
            else f"Python client, {HTTP_CONNECTIONS} processes, {HTTP_SECONDS:g} s a round"
        )
        runs = (
            ("bare WSGI app", eager_port, "/bench/wsgi", DECIDE_BODY),
            ("bare Django view", eager_port, "/bench/bare", DECIDE_BODY),
            ("precomputed answer", eager_port, "/bench/precomputed", DECIDE_BODY),
            ("decide anonymous, all", eager_port, "/api/v1/decide", DECIDE_BODY),
            ("decide anonymous, page", eager_port, "/api/v1/decide", DECIDE_PAGE_BODY),
            ("decide known, no broker", eager_port, "/api/v1/decide", KNOWN_BODY),
            ("decide anonymous, broker", broker_port, "/api/v1/decide", DECIDE_BODY),
            ("decide known, broker", broker_port, "/api/v1/decide", KNOWN_BODY),
        )
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in runs}
        for _ in range(HTTP_ROUNDS):
            for name, port, path, body in runs:
                url = f"http://127.0.0.1:{port}{path}"
                rounds[name].append(
                    run_wrk(wrk, url, key, body)
                    if wrk
                    else run_python_client(port, path, key, body)
                )
    finally:
        stop_process(eager)
        stop_process(broker)
        _purge_broker_queue(BROKER_URL)
    print(f"HTTP: gunicorn 2 sync workers, DEBUG=false; {tool}; median [min-max] of rounds")
    out: dict[str, Any] = {}
    for name, *_ in runs:
        rps = figure([r["rps"] for r in rounds[name]])
        p50 = figure([r["p50_ms"] for r in rounds[name]]).median
        p99 = figure([r["p99_ms"] for r in rounds[name]]).median
        bad = sum(r["non_2xx"] for r in rounds[name])
        out[name] = {"rps": rps.median, "p50_ms": p50, "p99_ms": p99}
        print(
            f"  {name:<26} {rps.show(' req/s', '{:,.0f}')}  p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            + (f", NON-2XX {bad}" if bad else "")
        )
    share = {
        "anon_of_bare": out["decide anonymous, all"]["rps"] / out["bare Django view"]["rps"],
        "anon_of_precomputed": out["decide anonymous, all"]["rps"]
        / out["precomputed answer"]["rps"],
        "anon_of_wsgi": out["decide anonymous, all"]["rps"] / out["bare WSGI app"]["rps"],
        "page_of_bare": out["decide anonymous, page"]["rps"] / out["bare Django view"]["rps"],
        "known_of_anon": out["decide known, no broker"]["rps"]
        / out["decide anonymous, all"]["rps"],
        "known_of_anon_broker": out["decide known, broker"]["rps"]
        / out["decide anonymous, broker"]["rps"],
    }
    for label, value in share.items():
        print(f"  {label}: {value:.0%}")
    out["share"] = share
    return out


# --- 3. events ------------------------------------------------------------------------------------

EVENT_CLIENTS = 4
EVENT_BATCH = 500  # the API's limit (delivery.validation.MAX_EVENTS_PER_BATCH)
EVENT_BATCHES = int(os.environ.get("BENCH_EVENT_BATCHES", "8"))  # per client and round
EVENT_ROUNDS = int(os.environ.get("BENCH_EVENT_ROUNDS", "3"))


def _event_batch(run: str, b: int, size: int) -> list[dict[str, Any]]:
    return [
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


def _events_client(args: tuple[int, str, int, int, str]) -> tuple[int, int]:
    port, key, batches, size, run = args
    stored = received = 0
    for b in range(batches):
        data = post_events(port, key, _event_batch(run, b, size))
        stored += data["stored"]
        received += data["received"]
    return stored, received


def _copy_client(args: tuple[str, int, int, int, str]) -> tuple[int, int]:
    """The floor: the same rows, COPY'd by psycopg straight into the events table, one
    transaction per batch (no HTTP, validation, profiles or de-duplication)."""
    import environ
    import psycopg

    url, site_id, batches, size, run = args
    cfg = environ.Env.db_url_config(url)
    stored = 0
    with psycopg.connect(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname=cfg["NAME"],
    ) as conn:
        for b in range(batches):
            now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY segments_event (site_id, visitor_id, event_id, kind, name, properties, "
                    "occurred_at, received_at, slot, variant, reason, reason_key) FROM STDIN"
                ) as copy,
            ):
                for e in _event_batch(run, b, size):
                    copy.write_row(
                        (
                            site_id,
                            e["visitor_id"],
                            e["id"],
                            e["kind"],
                            e["name"],
                            json.dumps(e["properties"]),
                            now,
                            now,
                            "",
                            "",
                            "",
                            "",
                        )
                    )
            conn.commit()
            stored += size
    return stored, stored


def bench_events(port: int, key: str, site_id: int) -> dict[str, Any]:
    from benchmarks.settings import delivery_database_url
    from benchmarks.stats import figure
    from segments.models import Event

    url = delivery_database_url()
    before = Event.objects.filter(site_id=site_id).count()
    _events_client((port, key, 1, 50, f"warm-{uuid.uuid4().hex[:6]}"))
    rates: dict[str, list[float]] = {"api": [], "copy": []}
    stored_api, api_tag = 0, ""
    with Pool(EVENT_CLIENTS) as pool:
        for _ in range(EVENT_ROUNDS):
            for name in ("api", "copy"):
                tag = uuid.uuid4().hex[:6]
                if name == "api":
                    api_tag = tag
                    fn, args = (
                        _events_client,
                        [
                            (port, key, EVENT_BATCHES, EVENT_BATCH, f"a{c}-{tag}")
                            for c in range(EVENT_CLIENTS)
                        ],
                    )
                else:
                    fn, args = (
                        _copy_client,
                        [
                            (url, site_id, EVENT_BATCHES, EVENT_BATCH, f"f{c}-{tag}")
                            for c in range(EVENT_CLIENTS)
                        ],
                    )
                t0 = time.perf_counter()
                results = pool.map(fn, args)
                elapsed = time.perf_counter() - t0
                stored = sum(r[0] for r in results)
                if name == "api":
                    stored_api += stored
                rates[name].append(stored / elapsed)
    in_db = Event.objects.filter(site_id=site_id).count() - before - 50
    api, floor = figure(rates["api"]), figure(rates["copy"])
    ratio = api.median / floor.median
    print(
        f"events ({EVENT_CLIENTS} clients x {EVENT_BATCHES} batches of {EVENT_BATCH} a round): "
        f"API {api.show(' events/s', '{:,.0f}')}, COPY floor {floor.show(' events/s', '{:,.0f}')}"
        f" -> {ratio:.0%} of the floor ({in_db:,} new rows)"
    )
    t0 = time.perf_counter()  # retrying a batch is idempotent and cheap
    again = _events_client((port, key, 1, EVENT_BATCH, f"a0-{api_tag}"))
    print(
        f"events: retried batch of {EVENT_BATCH}: {again[0]} stored (duplicates skipped) in "
        f"{(time.perf_counter() - t0) * 1000:.0f} ms"
    )
    return {"events_per_s": api.median, "copy_per_s": floor.median, "ratio": ratio}


# --- main ---------------------------------------------------------------------------------


def main() -> dict[str, Any]:
    print("== Delivery ==")
    site, delivery_key, _server_key = setup()
    results: dict[str, Any] = {"inprocess": bench_inprocess(site.pk)}
    results["http"] = bench_http(site.pk, delivery_key)
    port = free_port()
    server = start_gunicorn(port, app=BENCH_WSGI)
    try:
        results["events"] = bench_events(port, delivery_key, site.pk)
    finally:
        stop_process(server)
    return results


if __name__ == "__main__":
    main()
