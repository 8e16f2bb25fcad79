"""Chunked request bodies: read whole under gunicorn, 411 where the server cannot end them.

The Django test client cannot send `Transfer-Encoding: chunked`, so the end-to-end test
runs gunicorn in a subprocess on a file SQLite database and speaks HTTP over a socket.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from personalize.chunked import ChunkedBodyMiddleware

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import django, json; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.factories import SiteFactory, make_key
site = SiteFactory(slug="chunked")
print(json.dumps({"key": make_key(site, "server")}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chunked_post(port: int, path: str, key: str, body: bytes, pieces: int = 3) -> tuple[int, dict]:
    size = max(1, len(body) // pieces)
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n"
        for part in (body[i : i + size] for i in range(0, len(body), size))
    )
    request = (
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Api-Key {key}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        + chunks
        + b"0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(request)
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"transfer-encoding: chunked" in head.lower():
        decoded, rest = b"", payload
        while rest:
            length, _, rest = rest.partition(b"\r\n")
            n = int(length, 16)
            if n == 0:
                break
            decoded, rest = decoded + rest[:n], rest[n + 2 :]
        payload = decoded
    return status, json.loads(payload)


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chunked")
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        REDIS_URL="",
    )
    setup = subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr[-3000:]
    key = json.loads(setup.stdout.strip().splitlines()[-1])["key"]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "personalize.wsgi:application",
         "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                time.sleep(0.2)
        yield port, key
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_chunked_events_are_read_whole_under_gunicorn(gunicorn):
    port, key = gunicorn
    body = {
        "visitor": {"id": "anon-chunked"},
        "events": [{"id": f"c-{i}", "name": "view", "properties": {"i": i}} for i in range(50)],
    }
    status, answer = _chunked_post(port, "/api/v1/events", key, json.dumps(body).encode())
    assert status == 202, answer
    assert answer["received"] == 50 and answer["stored"] == 50


def test_chunked_decide_under_gunicorn(gunicorn):
    port, key = gunicorn
    body = json.dumps({"visitor": {"id": "anon-chunked"}, "context": {"city": "Oslo"}}).encode()
    status, answer = _chunked_post(port, "/api/v1/decide", key, body, pieces=5)
    assert status == 200, answer
    assert answer["visitor_id"] == "anon-chunked"


def test_chunked_body_over_the_limit_is_413(gunicorn):
    port, key = gunicorn
    status, answer = _chunked_post(port, "/api/v1/events", key, b"x" * 3_000_000, pieces=30)
    assert status == 413 and answer["error"]["code"] == "payload_too_large"


# --- the middleware alone --------------------------------------------------------------------


def _call(environ: dict) -> tuple[str, bytes, dict]:
    seen: dict = {}

    def app(env, start_response):
        seen.update(body=env["wsgi.input"].read(int(env.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [])
        return [b"ok"]

    statuses: list[str] = []
    out = ChunkedBodyMiddleware(app, limit=100)(environ, lambda s, h: statuses.append(s))
    return statuses[0], b"".join(out), seen


def test_a_server_that_cannot_end_chunked_bodies_gets_411():
    status, body, seen = _call(
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"{}")}
    )
    assert status.startswith("411") and json.loads(body)["error"]["code"] == "length_required"
    assert seen == {}  # the app never saw the request


def test_bodies_with_a_length_pass_untouched():
    status, _, seen = _call({"CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}")})
    assert status.startswith("200") and seen["body"] == b"{}"
