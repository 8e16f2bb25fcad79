"""PostgreSQL unreachable (a TCP proxy in front of it is cut) under a live server: warm
anonymous decides keep answering from memory; events are refused with a retryable 503 and
Retry-After (never a 500, never acknowledged and lost); both recover when it returns."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.faults.conftest import TcpProxy, _require, run_load, server_env

pytestmark = pytest.mark.fault


def test_database_unreachable_under_load(redis_proc, fault_db, start_server):
    _require(fault_db.is_postgres, "needs PostgreSQL (DATABASE_URL=postgres://…)")
    parts = urlsplit(fault_db.url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    try:
        server = start_server(
            server_env(DATABASE_URL=via_proxy, REDIS_URL=redis_proc.url), fault_db.keys
        )

        def fault() -> None:
            time.sleep(0.5)
            proxy.cut()
            time.sleep(3.0)
            proxy.restore()

        during = run_load(server, fault_db.keys, 5.0, during=fault)
        print(f"\n[database cut 3 s] {during.summary()}")
        bad = [s for s in during.decide_statuses if s >= 500 or s == 0]
        assert not bad, f"{len(bad)} anonymous decides failed: {set(bad)}"
        assert set(during.event_statuses) <= {202, 503}, set(during.event_statuses)
        assert during.refused, "no event was refused: the database was never cut"
        assert all(r["retry_after"] and r["error"]["code"] == "unavailable" for r in during.refused)
        lost = during.acknowledged - fault_db.event_ids()
        assert not lost, f"{len(lost)} acknowledged events are not in the database"

        time.sleep(1.0)
        after = run_load(server, fault_db.keys, 1.5)
        print(f"[database back] {after.summary()}")
        assert set(after.event_statuses) == {202}
        assert not [s for s in after.decide_statuses if s >= 500 or s == 0]
        assert not after.acknowledged - fault_db.event_ids()
    finally:
        proxy.close()
