"""A Celery worker killed mid-batch, and a database gone while tasks run: every follow-up
task the app queues (a batch of known visitors' visits, server-side impressions) has its
effect exactly once — nothing lost, nothing counted twice.

Each test starts its own worker processes (`celery -A personalize worker`, prefork, in a
process group of their own) against the real broker of CELERY_TEST_BROKER_URL, consuming
only a queue named for the test (so they cannot take anyone else's tasks, nor anyone
else's worker take theirs), on the same fresh database as the test (`fault_db`). The test
publishes the messages itself, as the web processes would.

To kill a worker *while* it runs a task, not between two, the test holds a write lock on
the tables the tasks write (LOCK TABLE … IN SHARE MODE on PostgreSQL, BEGIN IMMEDIATE on
SQLite): each task blocks at its first write, the worker reports it active (remote
control), and only then is the process killed. A task killed this way has written
nothing; one that had committed but was not yet acknowledged when its worker died is
delivered again — simulated deterministically by publishing some messages twice with the
same task id, as the broker redelivers them."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery

from tests.faults.conftest import ROOT, FaultDB, TcpProxy, _libpq, _require, server_env

BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "")
NO_BROKER = "no broker: set CELERY_TEST_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// to run it"

pytestmark = [
    pytest.mark.fault,
    pytest.mark.broker,
    # Skipped before the session's database is built; in CI the `broker` fixture fails.
    pytest.mark.skipif(not BROKER and not os.environ.get("CI"), reason=NO_BROKER),
]
VISITS_TASK = "delivery.tasks.visits_record_task"
EVENTS_TASK = "delivery.tasks.events_record_task"
PEOPLE_PER_VISITS = 3  # people in one visits message (the visit buffer sends many)
EVENTS_PER_MESSAGE = 2  # impressions in one events message


# --- the broker side: a client app, and worker processes ----------------------------------


@pytest.fixture
def broker() -> Iterator[Celery]:
    """A Celery app of the test's own (not the project's, which is eager here) that only
    publishes and asks workers what they run."""
    _require(bool(BROKER), NO_BROKER)
    client = Celery("faults-client", broker=BROKER, set_as_current=False)
    client.conf.update(broker_connection_retry_on_startup=True, task_serializer="json")
    yield client
    client.close()


class Worker:
    """`celery -A personalize worker` consuming one queue, in its own process group (the
    main process and its pool processes die together, as on a crashed host)."""

    def __init__(self, env: dict[str, str], queue: str, name: str) -> None:
        self.name = f"{name}@faults"
        (ROOT / "var").mkdir(exist_ok=True)
        self.log_path = ROOT / "var" / f"fault-worker-{name}.log"
        self.log = open(self.log_path, "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "personalize",
                "worker",
                "-Q",
                queue,
                "-n",
                self.name,
                "-P",
                "prefork",
                "-c",
                "2",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, client: Celery, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker exited: {self.log_text()[-3000:]}"
            if client.control.ping(destination=[self.name], timeout=1.0):
                return
        raise TimeoutError(f"worker never answered: {self.log_text()[-3000:]}")

    def active(self, client: Celery) -> list[dict[str, Any]]:
        """The tasks this worker's pool processes are running now (with their pids)."""
        replies = client.control.inspect(destination=[self.name], timeout=2.0, limit=1).active()
        return (replies or {}).get(self.name, [])

    def wait_active(self, client: Celery, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = self.active(client)
            if running:
                return running
            time.sleep(0.1)
        raise TimeoutError(f"no task became active: {self.log_text()[-3000:]}")

    def idle(self, client: Celery) -> bool:
        inspect = client.control.inspect(destination=[self.name], timeout=2.0, limit=1)
        active, reserved, scheduled = inspect.active(), inspect.reserved(), inspect.scheduled()
        return all(r and not r.get(self.name) for r in (active, reserved, scheduled))

    def kill(self) -> None:
        """SIGKILL the main process and every pool process at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(15)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        # Pool processes of a killed main process are in the same group: none survives.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def workers(broker: Celery) -> Iterator[Callable[..., Worker]]:
    """Starts workers on a queue of this test's own; the queue is deleted afterwards."""
    queue = f"faults-{uuid.uuid4().hex}"
    started: list[Worker] = []

    def start(db_url: str, name: str) -> Worker:
        env = server_env(DATABASE_URL=db_url, CELERY_BROKER_URL=BROKER, LOG_LEVEL="INFO")
        worker = Worker(env, queue, f"{name}-{queue[-8:]}")
        started.append(worker)
        worker.wait_ready(broker)
        return worker

    start.queue = queue  # type: ignore[attr-defined]
    yield start
    for worker in started:
        worker.close()
    with broker.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def queue_length(client: Celery, queue: str) -> int:
    with client.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


# --- the batch: messages as the web processes publish them ---------------------------------


class Batch:
    """`n` messages alternating a visits batch (PEOPLE_PER_VISITS new people, each with an
    anonymous id to link) and a server-side events batch (EVENTS_PER_MESSAGE impressions
    of one new visitor, without event ids, as the template tag sends them)."""

    def __init__(self, site_id: int, n: int, tag: str | None = None) -> None:
        self.site_id = site_id
        self.tag = tag or uuid.uuid4().hex[:10]
        self.messages: list[tuple[str, str, list[Any]]] = []  # (task id, task name, args)
        now = datetime.now(UTC).isoformat()
        for i in range(n):
            if i % 2 == 0:
                visits = [
                    {
                        "site_id": site_id,
                        "user_id": f"{self.tag}-m{i}-u{k}",
                        "visitor_ids": [f"{self.tag}-m{i}-a{k}"],
                        "context": {"city": "Detroit"},
                        "first_at": now,
                        "last_at": now,
                    }
                    for k in range(PEOPLE_PER_VISITS)
                ]
                self.messages.append((str(uuid.uuid4()), VISITS_TASK, [visits]))
            else:
                body = {
                    "visitor": {"id": f"{self.tag}-m{i}-v", "user_id": None},
                    "events": [
                        {
                            "kind": "impression",
                            "name": "impression",
                            "slot": "home_hero",
                            "variant": "hero-default",
                            "timestamp": now,
                        }
                        for _ in range(EVENTS_PER_MESSAGE)
                    ],
                }
                self.messages.append((str(uuid.uuid4()), EVENTS_TASK, [site_id, body]))

    def publish(self, client: Celery, queue: str, indexes: range | list[int]) -> None:
        for i in indexes:
            task_id, name, args = self.messages[i]
            client.send_task(name, args=args, queue=queue, task_id=task_id)

    @property
    def expected_people(self) -> int:
        return sum(1 for _, name, _ in self.messages if name == VISITS_TASK) * PEOPLE_PER_VISITS

    @property
    def expected_events(self) -> int:
        return sum(1 for _, name, _ in self.messages if name == EVENTS_TASK) * EVENTS_PER_MESSAGE


# --- reading the effects straight from the database ----------------------------------------


def query(db: FaultDB, sql: str, params: tuple = ()) -> list[tuple]:
    if db.is_postgres:
        import psycopg

        with psycopg.connect(_libpq(db.url)) as conn:
            return list(conn.execute(sql, params))
    with contextlib.closing(sqlite3.connect(db.path, timeout=30)) as conn:
        return list(conn.execute(sql.replace("%s", "?"), params))


class Effects:
    """What a batch changed: per person their visit count and linked anonymous ids, per
    visitor their impressions."""

    def __init__(self, db: FaultDB, batch: Batch) -> None:
        like = (batch.site_id, f"{batch.tag}-%")
        self.visits = dict(
            query(
                db,
                "SELECT user_id, visit_count FROM segments_profile "
                "WHERE site_id = %s AND user_id LIKE %s",
                like,
            )
        )
        self.links = dict(
            query(
                db,
                "SELECT l.visitor_id, p.user_id FROM segments_visitorlink l "
                "JOIN segments_profile p ON p.id = l.profile_id "
                "WHERE l.site_id = %s AND l.visitor_id LIKE %s",
                like,
            )
        )
        self.events = dict(
            query(
                db,
                "SELECT visitor_id, COUNT(*) FROM segments_event "
                "WHERE site_id = %s AND visitor_id LIKE %s GROUP BY visitor_id",
                like,
            )
        )

    @property
    def done(self) -> int:
        return len(self.visits) + sum(self.events.values())


def assert_exactly_once(db: FaultDB, batch: Batch) -> Effects:
    effects = Effects(db, batch)
    for _, name, args in batch.messages:
        if name == VISITS_TASK:
            for visit in args[0]:
                user = visit["user_id"]
                # Lost: no profile. Counted twice: visit_count 2.
                assert effects.visits.get(user) == 1, (user, effects.visits.get(user))
                assert effects.links.get(visit["visitor_ids"][0]) == user
        else:
            visitor = args[1]["visitor"]["id"]
            assert effects.events.get(visitor) == EVENTS_PER_MESSAGE, (
                visitor,
                effects.events.get(visitor),
            )
    assert len(effects.visits) == batch.expected_people
    assert sum(effects.events.values()) == batch.expected_events
    return effects


def wait_settled(
    db: FaultDB, batch: Batch, client: Celery, worker: Worker, queue: str, timeout: float = 120
) -> None:
    """Until the worker has nothing left to do: every effect is there, or the queue stayed
    empty and the worker idle (nothing running, prefetched or waiting for a retry) twice
    a second apart — then the assertions name what is missing. Waiting for idleness also
    lets a late duplicate be counted before the assertions."""
    want = batch.expected_people + batch.expected_events
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        idle = queue_length(client, queue) == 0 and worker.idle(client)
        if idle and Effects(db, batch).done >= want:
            return
        quiet = quiet + 1 if idle else 0
        if quiet >= 2:
            return
        time.sleep(1.0 if idle else 0.25)
    raise TimeoutError(
        f"{Effects(db, batch).done} of {want} effects after {timeout} s; "
        f"worker log: {worker.log_text()[-3000:]}"
    )


@contextlib.contextmanager
def writes_blocked(db: FaultDB) -> Iterator[None]:
    """Hold a lock that makes every write of the tasks wait (reads go on)."""
    if db.is_postgres:
        import psycopg

        with psycopg.connect(_libpq(db.url)) as conn:
            conn.execute(
                "LOCK TABLE segments_profile, segments_visitorlink, segments_event IN SHARE MODE"
            )
            try:
                yield
            finally:
                conn.rollback()
        return
    conn = sqlite3.connect(db.path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def failures(worker: Worker) -> list[str]:
    """Log lines of tasks that failed for good (a retry is logged differently)."""
    return [line for line in worker.log_text().splitlines() if "raised unexpected" in line]


# --- the tests -------------------------------------------------------------------------------


def test_worker_killed_mid_batch_loses_and_doubles_nothing(broker, fault_db, workers):
    queue = workers.queue
    batch = Batch(fault_db.keys["site_id"], 120)
    half = len(batch.messages) // 2
    first = workers(fault_db.url, "w1")

    # The first half runs normally: the worker works, and these effects exist once.
    batch.publish(broker, queue, range(half))
    deadline = time.monotonic() + 60
    while Effects(fault_db, batch).done < half // 2 * (PEOPLE_PER_VISITS + EVENTS_PER_MESSAGE):
        assert time.monotonic() < deadline, first.log_text()[-3000:]
        time.sleep(0.2)

    with writes_blocked(fault_db):
        # The second half, plus every fifth message of the whole batch published again
        # with its task id: a redelivery of a message whose task had already committed.
        batch.publish(broker, queue, range(half, len(batch.messages)))
        batch.publish(broker, queue, range(0, len(batch.messages), 5))

        # 1. A pool process dies in the middle of a task (OOM killer, segfault): the main
        #    process sees it lost and puts the message back (reject_on_worker_lost).
        running = first.wait_active(broker)
        os.kill(running[0]["worker_pid"], signal.SIGKILL)
        print(f"\n[pool process killed] running {running[0]['name']}[{running[0]['id']}]")
        deadline = time.monotonic() + 20
        while "signal 9" not in first.log_text():
            assert time.monotonic() < deadline, "the pool process was not seen dying"
            time.sleep(0.1)

        # 2. The whole worker dies while its pool processes run tasks (one of them, maybe,
        #    the message put back) and more are prefetched: nothing of these was
        #    acknowledged (acks_late), so the broker delivers them again.
        running = first.wait_active(broker)
        first.kill()
        print(f"[worker killed] while running {len(running)} task(s)")

    want = batch.expected_people + batch.expected_events
    left = want - Effects(fault_db, batch).done
    assert left > 0, "the batch was over before the kill: nothing was in flight"
    queued = queue_length(broker, queue)
    print(f"[after the kill] {left} of {want} effects missing; {queued} messages queued")

    second = workers(fault_db.url, "w2")
    wait_settled(fault_db, batch, broker, second, queue)
    effects = assert_exactly_once(fault_db, batch)
    print(
        f"[second worker] people={len(effects.visits)} (each 1 visit) "
        f"impressions={sum(effects.events.values())} lost=0 doubled=0"
    )
    assert not failures(second), failures(second)


@contextlib.contextmanager
def database_cut(db: FaultDB, proxy: TcpProxy | None) -> Iterator[None]:
    """The worker's database becomes unreachable: its PostgreSQL proxy refuses and drops
    connections, or the SQLite file is moved away (a new connection finds no tables)."""
    if proxy is not None:
        proxy.cut()
        try:
            yield
        finally:
            proxy.restore()
        return
    assert db.path is not None
    away = Path(f"{db.path}.away")
    os.replace(db.path, away)
    try:
        yield
    finally:
        os.replace(away, db.path)


def test_task_failing_on_an_unavailable_database_is_retried_not_dropped(broker, fault_db, workers):
    proxy = None
    worker_db = fault_db.url
    if fault_db.is_postgres:
        parts = urlsplit(fault_db.url)
        proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
        worker_db = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    queue = workers.queue
    batch = Batch(fault_db.keys["site_id"], 20)
    try:
        worker = workers(worker_db, "w")
        with database_cut(fault_db, proxy):
            batch.publish(broker, queue, range(len(batch.messages)))
            # Every message is tried and fails at least once while the database is gone.
            deadline = time.monotonic() + 60
            retried: set[str] = set()
            while len(retried) < len(batch.messages):
                assert time.monotonic() < deadline, worker.log_text()[-3000:]
                retried = {
                    task_id
                    for task_id, _, _ in batch.messages
                    if f"[{task_id}] retry: Retry in" in worker.log_text()
                }
                time.sleep(0.2)
            assert "OperationalError" in worker.log_text()
            assert not failures(worker), failures(worker)
        print(f"\n[database cut] {len(retried)} tasks failed and were retried, none dropped")
        wait_settled(fault_db, batch, broker, worker, queue)
        assert_exactly_once(fault_db, batch)
        assert not failures(worker), failures(worker)
    finally:
        if proxy is not None:
            proxy.close()
