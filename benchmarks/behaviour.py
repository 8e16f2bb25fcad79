"""Behavioural segment counts at scale: `Profile.objects.filter(rule.to_q()).count()` for
event conditions over BENCH_BEHAVIOUR_PROFILES profiles (default 1,000,000) with about five
events each (5,000,000), each beside a hand-written SQL floor with the same answer, and the
previous correlated-COUNT form once for reference.

The data lives in its own migrated PostgreSQL database (`<bench>_behaviour`, see
benchmarks/settings.py), loaded with COPY on the first run (a few minutes) and reused while
the row counts match. BENCH_BEHAVIOUR_PROFILES=100000 makes a quick run.
"""

from __future__ import annotations

import io
import os
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

PROFILES = int(os.environ.get("BENCH_BEHAVIOUR_PROFILES", "1000000"))
ROUNDS = int(os.environ.get("BENCH_SQL_ROUNDS", "3"))
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SLUG = "bench-behaviour-3"  # a new slug when the generated data changes
NAMES = ("purchase", "view", "click", "view", "add_to_cart")
DB = "behaviour"


def _events_of(i: int) -> int:
    return (i * 7919) % 11  # 0..10, 5 on average


def load(site_id: int) -> None:
    from django.db import connections

    conn = connections[DB]
    expected_events = sum(_events_of(i) for i in range(PROFILES))
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM segments_profile WHERE site_id = %s", [site_id])
        profiles = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM segments_event WHERE site_id = %s", [site_id])
        events = cur.fetchone()[0]
    if (profiles, events) == (PROFILES, expected_events):
        print(f"behaviour data: {PROFILES:,} profiles, {events:,} events (cached)")
        return
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM segments_event WHERE site_id = %s", [site_id])
        cur.execute("DELETE FROM segments_profile WHERE site_id = %s", [site_id])
    raw = conn.connection  # psycopg 3
    rng = random.Random(7)  # the same data set every time
    stamp = NOW.isoformat()
    with raw.cursor() as cur:
        with cur.copy(
            "COPY segments_profile (site_id, user_id, traits, last_context, recent_events, "
            "first_seen, last_seen, visit_count, consent, created_at, updated_at, "
            "bucketing_id, experiment_assignments) FROM STDIN"
        ) as copy:
            buf = io.StringIO()
            tail = f"\t{{}}\t{{}}\t[]\t{stamp}\t{stamp}"
            for i in range(PROFILES):
                buf.write(f"{site_id}\tu{i}{tail}\t{i % 9}\tt\t{stamp}\t{stamp}\tu{i}\t{{}}\n")
                if i % 50_000 == 49_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        cur.execute(
            "SELECT id, user_id FROM segments_profile WHERE site_id = %s ORDER BY id", [site_id]
        )
        ids = {u: pk for pk, u in cur.fetchall()}
        with cur.copy(
            "COPY segments_event (site_id, profile_id, visitor_id, kind, name, properties, "
            "occurred_at, received_at, slot, variant, reason, reason_key) FROM STDIN"
        ) as copy:
            buf = io.StringIO()
            for i in range(PROFILES):
                pk = ids[f"u{i}"]
                for k in range(_events_of(i)):
                    name = NAMES[rng.randrange(len(NAMES))]
                    at = (NOW - timedelta(hours=rng.randrange(24 * 120))).isoformat()
                    buf.write(
                        f'{site_id}\t{pk}\tu{i}\tcustom\t{name}\t{{"price": {(i + k) % 90}}}'
                        f"\t{at}\t{at}\t\t\t\t\n"
                    )
                if i % 20_000 == 19_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
    raw.commit()
    with conn.cursor() as cur:
        cur.execute("ANALYZE segments_profile")
        cur.execute("ANALYZE segments_event")
        cur.execute("SELECT count(*) FROM segments_event WHERE site_id = %s", [site_id])
        events = cur.fetchone()[0]
    print(
        f"behaviour data: loaded {PROFILES:,} profiles and {events:,} events with COPY in "
        f"{time.perf_counter() - t0:.0f} s"
    )


# (label, criteria tree, hand-written SQL floor with the same answer)
_GROUPED = (
    "SELECT count(*) FROM segments_profile p JOIN (SELECT profile_id FROM segments_event "
    "WHERE name = 'purchase' AND occurred_at >= %(since)s AND profile_id IS NOT NULL "
    "GROUP BY profile_id HAVING count(*) {having}) e ON e.profile_id = p.id "
    "WHERE p.site_id = %(site)s"
)
CASES = [
    (
        "purchase >= 2 in 30 days",
        {"event": "purchase", "count": {"op": "gte", "value": 2}, "within_days": 30},
        _GROUPED.format(having=">= 2"),
    ),
    (
        "purchase >= 1 in 30 days",
        {"event": "purchase", "within_days": 30},
        _GROUPED.format(having=">= 1"),
    ),
    (
        "purchase < 2 in 30 days",
        {"event": "purchase", "count": {"op": "lt", "value": 2}, "within_days": 30},
        "SELECT (SELECT count(*) FROM segments_profile WHERE site_id = %(site)s) - ("
        + _GROUPED.format(having=">= 2")
        + ")",
    ),
    (
        "no purchase in 30 days",
        {"event": "purchase", "count": {"op": "eq", "value": 0}, "within_days": 30},
        "SELECT (SELECT count(*) FROM segments_profile WHERE site_id = %(site)s) - ("
        + _GROUPED.format(having=">= 1")
        + ")",
    ),
]
# The form to_q emitted before (a correlated COUNT per profile), for reference.
CORRELATED = (
    "SELECT count(*) FROM segments_profile p WHERE p.site_id = %(site)s AND COALESCE(("
    "SELECT count(e.id) FROM segments_event e WHERE e.profile_id = p.id AND e.name = 'purchase' "
    "AND e.occurred_at >= %(since)s GROUP BY e.profile_id), 0) >= 2"
)


def interleaved_ms(f: Any) -> str:
    return f"{f.median * 1000:,.0f} ms [{f.low * 1000:,.0f}..{f.high * 1000:,.0f}]"


def bench_behaviour() -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connections

    from benchmarks.stats import interleaved
    from segments.criteria import compile_criteria
    from segments.models import Profile
    from tenancy.models import Site

    call_command("migrate", database=DB, verbosity=0, interactive=False)
    site, _ = Site.objects.using(DB).get_or_create(slug=SLUG, defaults={"name": "Behaviour"})
    load(site.pk)
    params = {"site": site.pk, "since": NOW - timedelta(days=30)}

    def raw(sql: str) -> int:
        with connections[DB].cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    print(f"== Behavioural counts: {PROFILES:,} profiles, ~5 events each (PostgreSQL) ==")
    out: dict[str, Any] = {}
    for label, tree, floor_sql in CASES:
        rule = compile_criteria(tree, now=NOW)
        query = Profile.objects.using(DB).filter(site_id=site.pk).filter(rule.to_q())
        ours, floor = query.count(), raw(floor_sql)
        assert ours == floor, (label, ours, floor)
        figs = interleaved(
            {"to_q": query.count, "floor": lambda sql=floor_sql: raw(sql)}, rounds=ROUNDS
        )
        ratio = figs["to_q"].median / figs["floor"].median
        ms = {k: interleaved_ms(f) for k, f in figs.items()}
        print(
            f"  {label:<26} {ours:>9,} members: to_q {ms['to_q']}, hand-written floor "
            f"{ms['floor']} -> {ratio:.2f}x of the floor"
        )
        out[label] = {"members": ours, "ms": figs["to_q"].median * 1000, "ratio": ratio}
    t0 = time.perf_counter()
    assert raw(CORRELATED) == out["purchase >= 2 in 30 days"]["members"]
    previous = (time.perf_counter() - t0) * 1000
    print(
        f"  previous form (correlated COUNT per profile), purchase >= 2: {previous:,.0f} ms, once"
    )
    out["previous_ms"] = previous
    out["headline_ratio"] = out["purchase >= 2 in 30 days"]["ratio"]
    return out
