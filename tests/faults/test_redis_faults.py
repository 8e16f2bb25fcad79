"""Redis killed and stalled under load: anonymous decides keep answering (in-memory
snapshot, per-process key memo, database fallbacks), events keep being stored, nothing
acknowledged is lost, and Redis is used again once it is back."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import run_load, server_env

pytestmark = pytest.mark.fault


def _assert_healthy(result, db, label: str) -> None:
    print(f"\n[{label}] {result.summary()}")
    assert result.decide_statuses, "the load loop made no requests"
    bad_decides = [s for s in result.decide_statuses if s >= 500 or s == 0]
    assert not bad_decides, f"{len(bad_decides)} decides failed: {set(bad_decides)}"
    # The database is up: every event is stored, none refused.
    assert set(result.event_statuses) == {202}, set(result.event_statuses)
    lost = result.acknowledged - db.event_ids()
    assert not lost, f"{len(lost)} acknowledged events are not in the database"


def _assert_recovers(server, redis_proc, db, label: str) -> None:
    """Once the breakers' retry interval (FAILOPEN_RETRY_INTERVAL=1) has passed, requests
    succeed and go through Redis again (throttle counters reappear in an emptied Redis)."""
    time.sleep(1.5)
    redis_proc.flushall()
    after = run_load(server, db.keys, 1.5)
    _assert_healthy(after, db, label)
    assert redis_proc.keys("*throttle*"), "Redis is not used again after it came back"


def test_redis_killed_under_load(redis_proc, fault_db, start_server):
    server = start_server(
        server_env(DATABASE_URL=fault_db.url, REDIS_URL=redis_proc.url), fault_db.keys
    )
    warm = run_load(server, fault_db.keys, 1.0)
    _assert_healthy(warm, fault_db, "warm")
    assert redis_proc.keys("*config_version*"), "the server did not use the test's Redis"

    def fault() -> None:
        time.sleep(0.5)
        redis_proc.kill()
        time.sleep(3.0)
        redis_proc.start()  # same port, empty

    during = run_load(server, fault_db.keys, 5.0, during=fault)
    _assert_healthy(during, fault_db, "redis killed 3 s")
    _assert_recovers(server, redis_proc, fault_db, "after restart")


def test_redis_stalled_under_load(redis_proc, fault_db, start_server):
    server = start_server(
        server_env(DATABASE_URL=fault_db.url, REDIS_URL=redis_proc.url), fault_db.keys
    )
    _assert_healthy(run_load(server, fault_db.keys, 1.0), fault_db, "warm")

    def fault() -> None:
        time.sleep(0.5)
        redis_proc.stop()  # SIGSTOP: connections hang instead of failing
        time.sleep(3.0)
        redis_proc.cont()

    during = run_load(server, fault_db.keys, 5.0, during=fault)
    _assert_healthy(during, fault_db, "redis stalled 3 s")
    _assert_recovers(server, redis_proc, fault_db, "after SIGCONT")


def test_redis_down_from_the_start(fault_db, start_server):
    """No Redis at all (nothing listens on its port): the server still serves."""
    from tests.faults.conftest import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    server = start_server(server_env(DATABASE_URL=fault_db.url, REDIS_URL=url), fault_db.keys)
    result = run_load(server, fault_db.keys, 2.0)
    _assert_healthy(result, fault_db, "no redis")
    status, _, body = server.request("GET", "/readyz/")
    assert status == 200 and body["status"] == "degraded" and body["degraded"] == ["cache"]
