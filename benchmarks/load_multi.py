"""Load beyond one process (issue 11): two gunicorn instances behind nginx, sharing
PostgreSQL and Redis, against one instance.

Three set-ups serve the same seeded site (benchmarks.delivery's: 100 segments, 30
placements x 5 variants, one screen), each gunicorn instance with 2 sync workers:

- `direct`: wrk straight to instance A;
- `nginx-1`: nginx (Debian's, a subprocess with a generated config) in front of A only;
- `nginx-2`: nginx balancing A and B (round robin).

wrk runs in a separate process on loopback. For each set-up, rounds alternate
`decide` (anonymous, a fresh visitor id per request, every placement and the screen) and
`events` (batches of 20 events with fresh ids, 202 expected); the median round by
requests/s is reported with its p50/p99/p99.9, every response status is counted and any
non-2xx or socket error is printed and fails the run. Then a publish during the load:
while wrk sends decides through `nginx-2`, a content change is published through the
service layer and each instance is polled directly until it answers with the new content
20 times in a row; that time is compared to the documented bound (the snapshot check
interval, delivery.snapshot.CHECK_INTERVAL, plus one rebuild, timed here under the same
load). The probes queue behind the load like any request, so the decide p99 during the
publish is printed beside it.

Database: BENCH_MULTI_DATABASE_URL, else BENCH_DATABASE_URL's server with the database
`personalize_bench_multi` (created and migrated); Redis: BENCH_MULTI_REDIS_URL (default
redis://127.0.0.1:6379/14) with a per-run key prefix that is deleted afterwards. Knobs:
BENCH_MULTI_SECONDS (5 per wrk run), BENCH_MULTI_ROUNDS (3), BENCH_MULTI_CONNECTIONS (16),
BENCH_MULTI_PUBLISH_SECONDS (10). No timing is asserted: figures are printed.

    python -m benchmarks.load_multi        (also run by `make bench`)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Literal, TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.loadgen import (  # noqa: E402
    UNIQUE,
    WrkResult,
    bench_database_url,
    ensure_wrk,
    free_port,
    run_wrk,
    start_gunicorn,
    stop_process,
    wait_http,
)

SECONDS = float(os.environ.get("BENCH_MULTI_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_MULTI_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_MULTI_CONNECTIONS", "16"))
PUBLISH_SECONDS = float(os.environ.get("BENCH_MULTI_PUBLISH_SECONDS", "10"))
EVENTS_PER_BATCH = 20
STREAK = 20  # consecutive answers with the new content that count as "this instance has it"
NGINX = os.environ.get("BENCH_NGINX", "/usr/sbin/nginx")
MARKER = "published-during-load"

Setup = Literal["direct", "nginx-1", "nginx-2"]
Endpoint = Literal["decide", "events"]
SETUPS: tuple[Setup, ...] = ("direct", "nginx-1", "nginx-2")
ENDPOINTS: tuple[Endpoint, ...] = ("decide", "events")


def multi_database_url() -> str:
    return os.environ.get("BENCH_MULTI_DATABASE_URL") or bench_database_url("multi")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# --- nginx ---------------------------------------------------------------------------------------

NGINX_CONF = """
%(user)s
worker_processes 1;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(prefix)s/client_body;
    proxy_temp_path %(prefix)s/proxy;
    fastcgi_temp_path %(prefix)s/fastcgi;
    uwsgi_temp_path %(prefix)s/uwsgi;
    scgi_temp_path %(prefix)s/scgi;
    upstream one { server 127.0.0.1:%(a)d; }
    upstream two { server 127.0.0.1:%(a)d; server 127.0.0.1:%(b)d; }
    server {
        listen 127.0.0.1:%(one)d;
        location / { proxy_pass http://one; proxy_set_header Host $host; }
    }
    server {
        listen 127.0.0.1:%(two)d;
        location / { proxy_pass http://two; proxy_set_header Host $host; }
    }
}
"""


def start_nginx(prefix: Path, *, a: int, b: int) -> tuple[subprocess.Popen, int, int]:
    """nginx in the foreground with its config, pid, logs and temp files under `prefix`:
    one port proxying to instance A only, one balancing A and B."""
    one, two = free_port(), free_port()
    conf = prefix / "nginx.conf"
    # As root, nginx hands its workers to `nobody`, which cannot enter the private prefix.
    user = "user root root;" if os.geteuid() == 0 else ""
    conf.write_text(
        NGINX_CONF % {"user": user, "prefix": prefix, "a": a, "b": b, "one": one, "two": two}
    )
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{one}/healthz/", timeout=10)
        wait_http(f"http://127.0.0.1:{two}/healthz/", timeout=10)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"nginx did not start: {proc.communicate()[1][-2000:]}") from None
    return proc, one, two


# --- load ----------------------------------------------------------------------------------------


def decide_template() -> str:
    """An anonymous decide for every placement and the screen (as benchmarks.delivery)."""
    from benchmarks.delivery import DECIDE_BODY

    return json.dumps({**DECIDE_BODY, "visitor": {"id": f"anon-{UNIQUE}"}})


def events_template(run: str) -> str:
    kinds = (("impression", "impression"), ("click", "click"), ("conversion", "purchase"))
    events = [
        {
            "id": f"{run}-{UNIQUE}-{i}",
            "kind": kinds[i % 3][0],
            "name": kinds[i % 3][1],
            "properties": {"placement": f"placement_{i:02d}", "variant": f"p{i}-v{i % 5}"},
        }
        for i in range(EVENTS_PER_BATCH)
    ]
    return json.dumps({"visitor": {"id": f"anon-{run}-{UNIQUE}"}, "events": events})


class Figure(TypedDict):
    median: WrkResult
    rounds_rps: list[int]
    non_2xx: int
    socket_errors: int
    statuses: dict[int, int]


def measure(wrk: str, key: str, urls: dict[Setup, str]) -> dict[tuple[Setup, Endpoint], Figure]:
    run = uuid.uuid4().hex[:8]
    paths = {"decide": "/api/v1/decide", "events": "/api/v1/events"}
    bodies = {"decide": decide_template(), "events": events_template(run)}
    # Warm every worker of both instances (snapshot build, key memo) through nginx-2.
    for endpoint in ENDPOINTS:
        run_wrk(
            wrk, urls["nginx-2"] + paths[endpoint], key, bodies[endpoint], seconds=1, connections=8
        )
    rounds: dict[tuple[Setup, Endpoint], list[WrkResult]] = {
        (s, e): [] for s in SETUPS for e in ENDPOINTS
    }
    for r in range(ROUNDS):
        for setup in SETUPS:
            for endpoint in ENDPOINTS:
                # A fresh id prefix per wrk run: event ids must not repeat across runs.
                body = bodies[endpoint].replace(run, f"{run}{r}{setup}")
                rounds[setup, endpoint].append(
                    run_wrk(
                        wrk,
                        urls[setup] + paths[endpoint],
                        key,
                        body,
                        seconds=SECONDS,
                        connections=CONNECTIONS,
                        count_statuses=True,
                    )
                )
    figures: dict[tuple[Setup, Endpoint], Figure] = {}
    for pair, results in rounds.items():
        ordered = sorted(results, key=lambda x: x["rps"])
        statuses: dict[int, int] = {}
        for result in results:
            for code, n in result["statuses"].items():
                statuses[code] = statuses.get(code, 0) + n
        figures[pair] = {
            "median": ordered[len(ordered) // 2],
            "rounds_rps": [round(x["rps"]) for x in results],
            "non_2xx": sum(x["non_2xx"] for x in results),
            "socket_errors": sum(x["socket_errors"] for x in results),
            "statuses": statuses,
        }
    return figures


def report(figures: dict[tuple[Setup, Endpoint], Figure]) -> None:
    tool = f"wrk 2 threads, {CONNECTIONS} connections, {SECONDS:g} s; median of {ROUNDS} rounds"
    for endpoint in ENDPOINTS:
        unit = f"batches of {EVENTS_PER_BATCH}" if endpoint == "events" else "decides"
        for setup in SETUPS:
            f = figures[setup, endpoint]
            m = f["median"]
            rate = (
                f"  = {m['rps'] * EVENTS_PER_BATCH:,.0f} events/s" if endpoint == "events" else ""
            )
            print(
                f"{endpoint:>6} {setup:>7}: {m['rps']:7.0f} req/s ({unit}){rate}, p50 "
                f"{m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms, p99.9 {m['p999_ms']:.1f} ms; "
                f"rounds {f['rounds_rps']}; statuses {f['statuses']}, non-2xx {f['non_2xx']}, "
                f"socket errors {f['socket_errors']}"
            )
        two = figures["nginx-2", endpoint]["median"]["rps"]
        print(
            f"{endpoint:>6}: two instances behind nginx = "
            f"{two / figures['direct', endpoint]['median']['rps']:.2f}x one instance direct, "
            f"{two / figures['nginx-1', endpoint]['median']['rps']:.2f}x one behind nginx "
            f"[{tool}]"
        )
    print(
        f"({os.cpu_count()} CPUs on this machine, shared by wrk, nginx, 4 gunicorn workers, "
        "PostgreSQL, Redis and anything else running: two instances scale only as far as "
        "idle cores allow; the ratio shows what the second instance adds on these CPUs.)"
    )


# --- publish during load ------------------------------------------------------------------------


class Propagation(TypedDict):
    """Seconds after the publish committed at which one instance's probes were answered."""

    first_new: float | None  # the first answer with the new content
    reached: float | None  # the first answer of the final run of STREAK new ones
    last_stale: float | None  # the last answer with the old content
    polls: int
    failed_polls: int


def _poll_instance(port: int, key: str, t0: float, deadline: float, out: Propagation) -> None:
    """Decide for placement_00 on one instance (straight to its gunicorn) until STREAK
    answers in a row carry the new content: with 2 workers per instance, 20 answers in a
    row from whichever worker accepts leave a stale worker unnoticed with odds 2^-20.
    Probes queue behind the load like any request, so answer times include that wait."""
    body = json.dumps({"visitor": {"id": "anon-probe"}, "placements": ["placement_00"]}).encode()
    streak = 0
    while streak < STREAK and time.monotonic() < deadline:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/decide",
            data=body,
            headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
            method="POST",
        )
        out["polls"] += 1
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            out["failed_polls"] += 1
            streak = 0
            continue
        answered = time.monotonic() - t0
        if MARKER in text:
            if out["first_new"] is None:
                out["first_new"] = answered
            if streak == 0:
                out["reached"] = answered
            streak += 1
        else:
            out["last_stale"] = answered
            streak = 0
        time.sleep(0.01)
    if streak < STREAK:
        out["reached"] = None


def _rebuild_seconds(site_id: int) -> float:
    from delivery.snapshot import snapshot_build

    samples = []
    for _ in range(3):
        t = time.perf_counter()
        snapshot_build(site_id)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def publish_during_load(
    wrk: str, key: str, nginx_two: str, instances: dict[str, int], site: Any
) -> dict[str, Any]:
    """Publish a content change while wrk sends decides through nginx-2; poll each
    instance until it serves the change. Returns the time it took and the failures."""
    from content.models import Placement
    from content.services.drafts import content_variant_update
    from content.services.publishing import slot_publish
    from delivery.snapshot import CHECK_INTERVAL

    idle_rebuild = _rebuild_seconds(site.pk)
    load: dict[str, WrkResult] = {}
    loader = threading.Thread(
        target=lambda: load.update(
            result=run_wrk(
                wrk,
                nginx_two + "/api/v1/decide",
                key,
                decide_template(),
                seconds=PUBLISH_SECONDS,
                connections=CONNECTIONS,
                count_statuses=True,
            )
        )
    )
    loader.start()
    time.sleep(min(1.0, PUBLISH_SECONDS / 8))
    # The same rebuild on the CPUs the loaded workers share: what a worker's rebuild costs now.
    loaded_rebuild = _rebuild_seconds(site.pk)
    placement = Placement.objects.get(site=site, key="placement_00")
    started = time.monotonic()
    for variant in placement.variants.all():
        content_variant_update(variant=variant, data={"body": f"<p>{MARKER} {variant.key}</p>"})
    slot_publish(slot=placement)
    t0 = time.monotonic()  # committed: the new config version is in Redis
    polls: dict[str, Propagation] = {
        name: {
            "first_new": None,
            "reached": None,
            "last_stale": None,
            "polls": 0,
            "failed_polls": 0,
        }
        for name in instances
    }
    pollers = [
        threading.Thread(target=_poll_instance, args=(port, key, t0, t0 + 30, polls[name]))
        for name, port in instances.items()
    ]
    for p in pollers:
        p.start()
    for p in pollers:
        p.join()
    loader.join()
    result = load["result"]

    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.2f} s"

    for name, p in polls.items():
        print(
            f"publish: instance {name}: first new answer {seconds(p['first_new'])}, last stale "
            f"answer {seconds(p['last_stale'])}, {STREAK} new in a row from "
            f"{seconds(p['reached'])} after the commit; {p['polls']} probes, "
            f"{p['failed_polls']} failed"
        )
    all_reached = all(p["reached"] is not None for p in polls.values())
    reached = max((p["reached"] or float("inf")) for p in polls.values())
    bound = CHECK_INTERVAL + loaded_rebuild
    queued = result["p99_ms"] / 1000  # what a request waits in a loaded worker's queue
    verdict = (
        "within the bound"
        if reached <= bound
        else f"within the bound plus a loaded request's p99 wait ({queued:.2f} s)"
        if reached <= bound + queued
        else "OVER the bound"
    )
    print(
        f"publish: a content change (publishing took {(t0 - started) * 1000:.0f} ms) was "
        f"answered by every instance {reached:.2f} s after its commit; documented bound: the "
        f"check interval {CHECK_INTERVAL:g} s + one rebuild ({idle_rebuild * 1000:.0f} ms idle, "
        f"{loaded_rebuild * 1000:.0f} ms under this load) = {bound:.2f} s -> {verdict}"
    )
    print(
        f"publish: decide load through nginx-2 meanwhile: {result['rps']:.0f} req/s over "
        f"{PUBLISH_SECONDS:g} s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"p99.9 {result['p999_ms']:.1f} ms; statuses {result['statuses']}, non-2xx "
        f"{result['non_2xx']}, socket errors {result['socket_errors']}"
    )
    return {
        "reached_s": reached,
        "bound_s": bound,
        "failed": result["non_2xx"]
        + result["socket_errors"]
        + sum(p["failed_polls"] for p in polls.values()),
        "all_reached": all_reached,
    }


# --- main ----------------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    """The benchmark, in a process whose Django is not set up yet."""
    import redis

    print("== Load beyond one process (issue 11) ==", flush=True)
    redis_url = os.environ.get("BENCH_MULTI_REDIS_URL", "redis://127.0.0.1:6379/14")
    prefix = f"bench-multi-{uuid.uuid4().hex[:8]}"
    redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    # Read by benchmarks.settings in this process and the gunicorn instances it starts.
    os.environ.update(
        BENCH_DELIVERY_DATABASE_URL=multi_database_url(),
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=prefix,
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    wrk = ensure_wrk()
    if not wrk:
        raise RuntimeError("load_multi needs wrk (apt-get install wrk)")
    if not shutil.which(NGINX) and not Path(NGINX).exists():
        raise RuntimeError(f"load_multi needs nginx at {NGINX} (apt-get install nginx-light)")
    from benchmarks.delivery import setup

    site, key, _server = setup()
    print(f"redis: {redis_url} (key prefix {prefix})")
    a_port, b_port = free_port(), free_port()
    servers = [start_gunicorn(a_port), start_gunicorn(b_port)]
    prefix_dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    nginx = None
    try:
        nginx, one, two = start_nginx(prefix_dir, a=a_port, b=b_port)
        urls: dict[Setup, str] = {
            "direct": f"http://127.0.0.1:{a_port}",
            "nginx-1": f"http://127.0.0.1:{one}",
            "nginx-2": f"http://127.0.0.1:{two}",
        }
        print(f"load before: {uptime()}")
        figures = measure(wrk, key, urls)
        print(f"load after:  {uptime()}")
        report(figures)
        published = publish_during_load(wrk, key, urls["nginx-2"], {"A": a_port, "B": b_port}, site)
    finally:
        if nginx is not None:
            stop_process(nginx)
        for server in servers:
            stop_process(server)
        shutil.rmtree(prefix_dir, ignore_errors=True)
        _clean_up(redis_url, prefix)
    failed = sum(f["non_2xx"] + f["socket_errors"] for f in figures.values())
    failed += published["failed"]
    print(f"failed requests over the whole run: {failed}")
    if failed or not published["all_reached"]:
        raise RuntimeError(
            "load_multi: requests failed or the publish did not reach every instance"
        )
    return {"figures": figures, "publish": published}


def _clean_up(redis_url: str, prefix: str) -> None:
    """Drop this run's cache keys and the events it stored (a dedicated database)."""
    import redis
    from django.db import connection

    from segments.models import Event

    client = redis.Redis.from_url(redis_url)
    for name in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(name)
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{Event._meta.db_table}" CASCADE')


def main() -> None:
    """Entry point for benchmarks/run.py: Django may already be set up there on another
    database, so the benchmark runs in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    sys.stdout.flush()
    done = subprocess.run([sys.executable, "-m", "benchmarks.load_multi"], cwd=ROOT, env=env)
    if done.returncode:
        raise RuntimeError(f"benchmarks.load_multi exited with {done.returncode}")


if __name__ == "__main__":
    run()
