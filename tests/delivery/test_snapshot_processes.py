"""A publish in one process reaches the snapshot of another process within a bounded time.

Three real processes share a file SQLite database and Redis (the cache that carries the
site's config version): one keeps deciding, one publishes. Needs Redis: REDIS_URL, or
redis://127.0.0.1:6379/15 locally; it fails (never skips) when Redis is unreachable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from delivery.snapshot import CHECK_INTERVAL

ROOT = Path(__file__).resolve().parents[2]
BOUND_SECONDS = CHECK_INTERVAL + 4.0  # the check interval plus a generous rebuild/IO allowance


def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # fail loudly: this test is the proof of cross-process delivery
        pytest.fail(f"The two-process snapshot test needs Redis at {url}: {exc}")
    return url


def child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        REDIS_URL=redis_url(),
        CACHE_KEY_PREFIX=f"two-process-{uuid.uuid4().hex}",
        DJANGO_SETTINGS_MODULE="tests.settings",
        WATCH_SECONDS="40",
        PYTHONPATH=str(ROOT),
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


def run_child(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "tests.delivery.two_process_child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_publish_reaches_another_process(tmp_path):
    env = child_env(tmp_path)
    site_id = run_child(env, "setup")["site_id"]
    watcher = subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.two_process_child", "watch", str(site_id)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = json.loads(watcher.stdout.readline())
        assert first["variant"] == "hero-default"
        published_at = run_child(env, "publish", str(site_id))["published_at"]
        seen_at = None
        deadline = time.time() + BOUND_SECONDS + 10
        while time.time() < deadline:
            line = watcher.stdout.readline()
            if not line:
                break
            row = json.loads(line)
            if row["variant"] == "hero-v2":
                seen_at = row["t"]
                assert row["version"] > first["version"]
                break
        assert seen_at is not None, "the other process never saw the publish"
        lag = seen_at - published_at
        print(f"publish reached the other process after {lag:.3f} s")
        assert lag <= BOUND_SECONDS
    finally:
        watcher.kill()
        watcher.wait(timeout=10)
