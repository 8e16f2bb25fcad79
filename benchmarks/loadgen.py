"""HTTP load helpers shared by the benchmarks: a benchmark database, gunicorn as a
subprocess, and wrk driven by a Lua script that reports p50/p99/p99.9 and (optionally)
counts every response status.

A request body is a JSON template: each occurrence of `__N__` is replaced per request with
a string unique within the run (`<thread>-<counter>`), so decides get fresh anonymous ids
and event batches get fresh event ids.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
UNIQUE = "__N__"
# The project's application plus /bench/wsgi, the bare WSGI floor (benchmarks/wsgi.py).
BENCH_WSGI = "benchmarks.wsgi:application"


def bench_database_url(suffix: str) -> str:
    """BENCH_DATABASE_URL's server with the database `<name>_<suffix>`
    (postgres://postgres@127.0.0.1:5432/personalize_bench_<suffix> by default)."""
    base = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/personalize_bench"
    )
    head, _, name = base.rpartition("/")
    name, sep, query = name.partition("?")
    return f"{head}/{name}_{suffix}{sep}{query}"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` when it does not exist."""
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url)
    if "postgres" not in cfg["ENGINE"]:
        return
    with psycopg.connect(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
            print(f"created database {cfg['NAME']}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, *, timeout: float = 30.0) -> None:
    """Wait until `url` answers (any status below 500), or raise."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def start_gunicorn(
    port: int,
    *,
    workers: int = 2,
    app: str = "personalize.wsgi:application",
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """gunicorn (sync workers) serving `app` with benchmarks.settings on 127.0.0.1:`port`;
    the environment (database, Redis, cache prefix) is this process's plus `extra_env`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [
            gunicorn,
            app,
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz/")
    except RuntimeError:
        proc.kill()
        raise
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_NO_INSTALL"):
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk not found: apt-get install -y wrk …")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return shutil.which("wrk")


def post_events(port: int, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """POST one batch to /api/v1/events on 127.0.0.1:`port`; the 202 answer's body
    (`received`, `stored`), or RuntimeError for any other status."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/v1/events",
            json.dumps({"events": events}),
            {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
        )
        resp = conn.getresponse()
        data = json.loads(resp.read())
    finally:
        conn.close()
    if resp.status != 202:
        raise RuntimeError(f"events: HTTP {resp.status} {data}")
    return data


# `setup` runs in the main Lua state once per thread; `init`, `request` and `response` in
# each thread's own state; `done` in the main state, which reads each thread's globals.
_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Api-Key %(key)s"
local body = %(body)s
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  counter = 0
  statuses = {}
end
function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, (string.gsub(body, "%(token)s", tid .. "-" .. counter)))
end
%(response)s
function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      table.insert(codes, string.format('"%%d": %%d', code, n))
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"p999_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, '
    .. '"status_errors": %%d, "statuses": {%%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect, e.read, e.write, e.timeout, e.status,
    table.concat(codes, ", ")))
end
"""

_COUNT_STATUSES = """
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
"""


class WrkResult(TypedDict):
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    non_2xx: int  # counted per status when count_statuses, else wrk's 4xx/5xx count
    socket_errors: int  # connect + read + write errors and timeouts
    statuses: dict[int, int]  # empty unless count_statuses


def _lua_string(text: str) -> str:
    """A Lua long-bracket string literal holding `text` verbatim."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def wrk_output(
    wrk: str,
    script_text: str,
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: float,
    options: Sequence[str] = (),
) -> str:
    """wrk's stdout after running the Lua `script_text` against `url` for `seconds`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script_text)
        script = f.name
    try:
        return subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                *options,
                "-s",
                script,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)


def run_wrk(
    wrk: str,
    url: str,
    key: str,
    body: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    count_statuses: bool = False,
) -> WrkResult:
    """POST `body` (with `__N__` made unique per request) to `url` for `seconds`.

    Counting statuses adds a Lua call per response, so it is optional; without it,
    `non_2xx` is wrk's own count of responses with status ≥ 400.
    """
    script_text = _WRK_SCRIPT % {
        "key": key,
        "body": _lua_string(body),
        "token": UNIQUE,
        "response": _COUNT_STATUSES if count_statuses else "",
    }
    out = wrk_output(
        wrk,
        script_text,
        url,
        threads=threads,
        connections=connections,
        seconds=seconds,
        options=["--timeout", "10s"],
    )
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    statuses = {int(code): n for code, n in data["statuses"].items()}
    non_2xx = (
        sum(n for code, n in statuses.items() if not 200 <= code < 300)
        if count_statuses
        else data["status_errors"]
    )
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "requests": data["requests"],
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "p999_ms": data["p999_us"] / 1000,
        "non_2xx": non_2xx,
        "socket_errors": data["connect"] + data["read"] + data["write"] + data["timeout"],
        "statuses": statuses,
    }
