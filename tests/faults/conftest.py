"""Fault tests: real services, really stopped. Each test owns its redis-server (never the
shared one), its gunicorn server, its Celery workers (on a queue of its own, against the
broker of CELERY_TEST_BROKER_URL; test_worker_faults.py) and, for database faults, a TCP
proxy in front of PostgreSQL that can be cut. A fresh database (PostgreSQL when
DATABASE_URL says so, else a SQLite file) is migrated and seeded once per session by
subprocesses.

They need redis-server, gunicorn and a broker; without them they skip locally and fail in
CI."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _require(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"fault tests cannot run in CI: {why}")
        pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


# --- a test-owned redis-server ------------------------------------------------------------


class RedisProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def cont(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def keys(self, pattern: str = "*") -> list[str]:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "--raw", "keys", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return [k for k in out.stdout.split() if k]

    def flushall(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "flushall"],
            capture_output=True,
            timeout=10,
            check=True,
        )

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def redis_proc() -> Iterator[RedisProcess]:
    _require(shutil.which("redis-server") is not None, "redis-server is not on PATH")
    r = RedisProcess()
    r.start()
    yield r
    r.close()


# --- a fresh database, migrated and seeded -------------------------------------------------


@dataclass
class FaultDB:
    url: str
    keys: dict
    is_postgres: bool
    path: Path | None = None

    def event_ids(self) -> set[str]:
        sql = "SELECT event_id FROM segments_event WHERE event_id IS NOT NULL"
        if self.is_postgres:
            import psycopg

            with psycopg.connect(_libpq(self.url)) as conn:
                return {row[0] for row in conn.execute(sql)}
        import sqlite3

        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return {row[0] for row in conn.execute(sql)}


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def server_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST", "CELERY_", "REDIS_", "DATABASE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="personalize.settings",
        DEBUG="false",
        SECRET_KEY="fault-tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_FORMAT="text",
        LOG_LEVEL="WARNING",
        API_KEY_THROTTLE_RATE="1000000/min",
        FAILOPEN_RETRY_INTERVAL="1",
        CONN_MAX_AGE="0",
        # No broker on purpose: follow-up tasks run in the server process.
        CELERY_ALLOW_EAGER="true",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def fault_db(tmp_path_factory) -> Iterator[FaultDB]:
    _require(GUNICORN.exists(), "gunicorn is not installed in the virtualenv")
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"personalize_faults_{uuid.uuid4().hex[:8]}"
        parts = urlsplit(base)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(_libpq(admin), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = FaultDB(urlunsplit(parts._replace(path=f"/{name}")), {}, True)
    else:
        path = tmp_path_factory.mktemp("faults") / "db.sqlite3"
        db = FaultDB(f"sqlite:///{path}", {}, False, path)
    env = server_env(DATABASE_URL=db.url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    seeded = subprocess.run(
        [sys.executable, "tests/faults/seed.py"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    db.keys = json.loads(seeded.stdout.strip().splitlines()[-1])
    yield db
    if db.is_postgres:
        import psycopg

        with psycopg.connect(_libpq(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- a TCP proxy in front of PostgreSQL that can be cut ------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` closes every connection and refuses
    new ones (the database is unreachable), `restore()` accepts again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.open = True
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._socks -= {a, b}

    def cut(self) -> None:
        self.open = False
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.cut()
        self._listener.close()


# --- a gunicorn server -----------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        self.log = open(ROOT / "var" / f"fault-server-{self.port}.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(GUNICORN),
                "personalize.wsgi",
                "-w",
                str(workers),
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port, 60)

    def warm(self, keys: dict) -> None:
        """First requests import and build everything (snapshot, engine): not load."""
        for i in range(8):
            status, _, body = self.request(
                "POST", "/api/v1/decide", {"visitor": {"id": f"warm-{i}"}}, keys["delivery"], 120
            )
            assert status == 200, (status, body, self.log_text()[-2000:])

    def request(
        self, method: str, path: str, body: dict | None = None, key: str = "", timeout: float = 10.0
    ) -> tuple[int, dict, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"}
            if key
            else {"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"raw": raw[:200].decode("utf-8", "replace")}
            return e.code, dict(e.headers), parsed
        except OSError as e:  # timeouts, resets: counted as failures by the load loop
            return 0, {}, {"error": str(e)}

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def log_text(self) -> str:
        return Path(self.log.name).read_text()


@pytest.fixture
def start_server() -> Iterator:
    (ROOT / "var").mkdir(exist_ok=True)
    servers: list[Server] = []

    def start(env: dict[str, str], keys: dict, workers: int = 2) -> Server:
        server = Server(env, workers)
        servers.append(server)
        server.warm(keys)
        return server

    yield start
    for server in servers:
        server.close()


# --- a bounded load loop ---------------------------------------------------------------------


@dataclass
class LoadResult:
    decide_statuses: list[int] = field(default_factory=list)
    event_statuses: list[int] = field(default_factory=list)
    decide_latencies: list[float] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    refused: list[dict] = field(default_factory=list)

    def count(self, statuses: list[int], predicate) -> int:
        return sum(1 for s in statuses if predicate(s))

    def summary(self) -> str:
        lat = sorted(self.decide_latencies) or [0.0]
        return (
            f"decides={len(self.decide_statuses)} "
            f"decide_5xx={self.count(self.decide_statuses, lambda s: s >= 500 or s == 0)} "
            f"events={len(self.event_statuses)} "
            f"events_202={self.count(self.event_statuses, lambda s: s == 202)} "
            f"events_503={self.count(self.event_statuses, lambda s: s == 503)} "
            f"events_other={self.count(self.event_statuses, lambda s: s not in (202, 503))} "
            f"decide_p50={lat[len(lat) // 2] * 1000:.0f}ms "
            f"decide_max={lat[-1] * 1000:.0f}ms"
        )


def run_load(
    server: Server, keys: dict, seconds: float, during=None, threads: int = 4, tag: str = ""
) -> LoadResult:
    """Anonymous decides and event posts from `threads` threads for `seconds`; `during` (a
    callable) runs in the main thread meanwhile (it injects the fault)."""
    result = LoadResult()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    tag = tag or uuid.uuid4().hex[:6]

    def worker(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1
            started = time.monotonic()
            status, _, _ = server.request(
                "POST",
                "/api/v1/decide",
                {"visitor": {"id": f"anon-{n}-{i}"}, "context": {"city": "Detroit"}},
                keys["delivery"],
            )
            took = time.monotonic() - started
            event_id = f"{tag}-{n}-{i}"
            estatus, headers, body = server.request(
                "POST",
                "/api/v1/events",
                {"visitor": {"id": f"anon-{n}"}, "events": [{"id": event_id, "name": "view"}]},
                keys["delivery"],
            )
            with lock:
                result.decide_statuses.append(status)
                result.decide_latencies.append(took)
                result.event_statuses.append(estatus)
                if estatus == 202:
                    result.acknowledged.add(event_id)
                elif estatus == 503:
                    result.refused.append({"retry_after": headers.get("Retry-After"), **body})

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    if during is not None:
        during()
    for t in pool:
        t.join()
    return result
