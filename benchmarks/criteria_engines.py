"""Criteria engines benchmark: our compiled criteria vs flagsmith-flag-engine and GrowthBook.

Workload (same for every engine): 100 segments of 6 conditions each (string equality,
numeric ranges, IN lists, substrings; one segment in six has a regular expression), one
visitor with 20 traits, every segment evaluated per decision. Every engine must give the
same answer for 400 varied visitors first. Prints µs per decision (median [min..max] of
interleaved rounds) and the ratios, against the path decide uses (each rule's `matches`)
and, separately, the RuleSet that `explain` uses. `bench_postgres_count()` times an exact
count of a five-condition segment over 1,000,000 stored profiles on PostgreSQL (BENCH_DATABASE_URL).

    python benchmarks/criteria_engines.py            # engines + PostgreSQL count
    python benchmarks/criteria_engines.py --no-db    # engines only
"""

from __future__ import annotations

import importlib
import os
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats import Figure, figure

ENGINE_ROUNDS = int(os.environ.get("BENCH_ENGINE_ROUNDS", "7"))
AGREEMENT_VISITORS = int(os.environ.get("BENCH_AGREEMENT_VISITORS", "400"))

CITIES = ["detroit", "chicago", "boston", "austin", "denver"]
COUNTRIES = ["us", "ca", "mx", "gb", "fr", "de", "es", "it", "nl", "se", "jp", "br"]
DEVICES = ["mobile", "tablet", "desktop", "tv"]

VISITOR = {  # 20 traits
    "age": 27,
    "gender": "female",
    "city": "detroit",
    "region": "michigan",
    "country": "us",
    "lifetime_value": 320.5,
    "loyalty_tier": "gold",
    "visit_count": 14,
    "device_type": "mobile",
    "os": "ios",
    "os_version": "17.2",
    "browser": "safari",
    "language": "en-us",
    "referrer": "https://www.college-deals.example.com/spring",
    "landing_page": "/promo/shoes",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "spring-sale",
    "weather": "rain",
    "channel": "app",
}
PROFILE_KEYS = {"age", "gender", "city", "region", "country", "lifetime_value", "loyalty_tier"}


def segment_specs(n: int = 100) -> list[list[tuple[str, str, Any]]]:
    """Engine-neutral specs: (trait, op, value) with op in eq/gte/lt/in/contains/regex/in2."""
    specs = []
    for i in range(n):
        conds: list[tuple[str, str, Any]] = [
            ("city", "eq", CITIES[i % 2]),  # half the segments pass the first test
            ("age", "gte", 18 + i % 15),
            ("lifetime_value", "lt", 100 + 10 * (i % 40)),
            ("country", "in", [COUNTRIES[(i + k) % len(COUNTRIES)] for k in range(6)]),
            ("referrer", "contains", ["college", "deals", "spring", "winter"][i % 4]),
        ]
        if i % 6 == 0:
            conds.append(("landing_page", "regex", r"^/promo/[a-z]+$"))
        else:
            conds.append(("device_type", "in", DEVICES[: 1 + i % 4]))
        specs.append(conds)
    return specs


# -- our engine ------------------------------------------------------------------------------
_OUR_OPS = {
    "eq": "eq",
    "gte": "gte",
    "lt": "lt",
    "in": "in",
    "contains": "contains",
    "regex": "matches",
}


def _our_tree(conds: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """One rule's conditions in our criteria language (all must hold)."""
    return {
        "all": [
            {
                "field": f"{'profile' if t in PROFILE_KEYS else 'context'}.{t}",
                "op": _OUR_OPS[op],
                "value": v,
            }
            for t, op, v in conds
        ]
    }


def build_ours(specs: list[list[tuple[str, str, Any]]]) -> Callable[[dict], list[int]]:
    """Each rule's own `matches`, one after the other: the path decide uses (a slot runs
    the rules of its variants, each at most once per decision)."""
    from segments.criteria import compile_criteria

    pairs = [(i, compile_criteria(_our_tree(conds))) for i, conds in enumerate(specs)]

    def matching(visitor: dict[str, Any]) -> list[int]:
        doc = _document(visitor)
        return [i for i, r in pairs if r.matches(doc)]

    return matching


def _document(visitor: dict[str, Any]) -> dict[str, Any]:
    return {
        "visitor": {"id": "anon-7f3"},
        "profile": {k: v for k, v in visitor.items() if k in PROFILE_KEYS},
        "context": {k: v for k, v in visitor.items() if k not in PROFILE_KEYS},
    }


def build_ours_ruleset(specs: list[list[tuple[str, str, Any]]]) -> Callable[[dict], list[int]]:
    """The same rules as one RuleSet (what decide's `explain` uses): fields read once."""
    from segments.criteria import compile_rules

    ruleset = compile_rules({i: _our_tree(conds) for i, conds in enumerate(specs)})
    return lambda visitor: ruleset.matching(_document(visitor))


# -- flagsmith-flag-engine -------------------------------------------------------------------
def build_flagsmith(specs: list[list[tuple[str, str, Any]]]) -> Callable[[dict], list[int]]:
    from flag_engine.segments import constants as C
    from flag_engine.segments.evaluator import get_enriched_context, is_context_in_segment

    ops = {
        "eq": C.EQUAL,
        "gte": C.GREATER_THAN_INCLUSIVE,
        "lt": C.LESS_THAN,
        "in": C.IN,
        "contains": C.CONTAINS,
        "regex": C.REGEX,
    }
    segments = []
    for i, conds in enumerate(specs):
        conditions = []
        for t, op, v in conds:
            value = v if op == "in" else str(v)  # IN takes a list; the others a string
            conditions.append({"property": t, "operator": ops[op], "value": value})
        segments.append(
            {
                "key": str(i),
                "name": f"s{i}",
                "rules": [{"type": C.ALL_RULE, "conditions": conditions}],
            }
        )
    pairs = list(enumerate(segments))

    def matching(visitor: dict[str, Any]) -> list[int]:
        context = get_enriched_context(
            {
                "environment": {"key": "env", "name": "bench"},
                "identity": {"identifier": "anon-7f3", "traits": dict(visitor)},
            }
        )
        return [i for i, s in pairs if is_context_in_segment(context, s)]

    return matching


# -- GrowthBook ------------------------------------------------------------------------------
def build_growthbook(specs: list[list[tuple[str, str, Any]]]) -> Callable[[dict], list[int]]:
    import re

    from growthbook.core import evalCondition

    conditions = []
    for conds in specs:
        cond: dict[str, Any] = {}
        for t, op, v in conds:
            if op == "eq":
                cond[t] = v
            elif op == "gte":
                cond[t] = {"$gte": v}
            elif op == "lt":
                cond[t] = {"$lt": v}
            elif op == "in":
                cond[t] = {"$in": v}
            elif op == "contains":  # GrowthBook has no substring operator: an escaped regex
                cond[t] = {"$regex": re.escape(v)}
            else:
                cond[t] = {"$regex": v}
        conditions.append(cond)
    pairs = list(enumerate(conditions))
    return lambda visitor: [i for i, c in pairs if evalCondition(visitor, c)]


def _time_interleaved(
    engines: dict[str, Callable[[], Any]], rounds: int = ENGINE_ROUNDS
) -> dict[str, Figure]:
    """µs per call of each engine: the median [min, max] of rounds run round-robin, so
    that background load on the machine hits every engine alike."""
    loops = {}
    for name, fn in engines.items():  # ~0.1 s per engine per round
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            if time.perf_counter() - t0 >= 0.1:
                break
            n *= 2
        loops[name] = n
    samples: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, fn in engines.items():
            n = loops[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n * 1e6)
    return {name: figure(s) for name, s in samples.items()}


def varied_visitors(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """Visitors with the 20 traits of VISITOR, each varied within its type (so that every
    engine reads them alike) to exercise every condition both ways."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        v = dict(VISITOR)
        v["city"] = rng.choice(CITIES[:2] * 3 + CITIES[2:])  # the segments test the first two
        v["age"] = rng.randint(16, 40)
        v["lifetime_value"] = round(rng.uniform(0, 600), 2)
        v["country"] = rng.choice(COUNTRIES)
        v["device_type"] = rng.choice(DEVICES)
        v["referrer"] = rng.choice(
            ["https://www.college-deals.example.com/spring", "https://news.example/winter", "x"]
        )
        # lower case only: our text operators fold case by default, the others do not
        v["landing_page"] = rng.choice(["/promo/shoes", "/promo/bags", "/home", "/promo/"])
        out.append(v)
    return out


def bench_engines() -> dict[str, Any]:
    specs = segment_specs()
    engines = {
        "personalize, decide's path": build_ours(specs),
        "personalize RuleSet": build_ours_ruleset(specs),
        "flagsmith-flag-engine": build_flagsmith(specs),
        "growthbook evalCondition": build_growthbook(specs),
    }
    visitors = varied_visitors(AGREEMENT_VISITORS)
    matched = 0
    for visitor in visitors:  # every engine gives the same answer for every visitor
        results = {name: fn(visitor) for name, fn in engines.items()}
        first = next(iter(results.values()))
        assert all(r == first for r in results.values()), f"engines disagree: {results}"
        matched += len(first)
    print(
        f"Workload: {len(specs)} segments x 6 conditions, 20 traits; the engines agree on "
        f"{len(visitors)} varied visitors ({matched / len(visitors):.1f} segments matched "
        "on average); timed on one visitor"
    )
    timings = _time_interleaved({name: partial(fn, VISITOR) for name, fn in engines.items()})
    ours = ("personalize, decide's path", "personalize RuleSet")
    for name, fig in timings.items():
        ratios = ""
        if name not in ours:
            ratios = "   ours is " + ", ".join(
                f"{fig.median / timings[o].median:.1f}x ({label})"
                for o, label in zip(ours, ("decide's path", "RuleSet"), strict=True)
            )
            ratios += " faster"
        print(f"  {name:28s} {fig.show(' µs/decision')}{ratios}")
    return {"timings": timings, "visitors": len(visitors)}


# -- PostgreSQL exact count over 1,000,000 profiles ------------------------------------------
BENCH_SEGMENT = {
    "all": [
        {"field": "profile.city", "op": "eq", "value": "Detroit"},
        {"field": "profile.age", "op": "between", "value": [20, 30]},
        {"field": "profile.gender", "op": "eq", "value": "female"},
        {"field": "profile.lifetime_value", "op": "lt", "value": 50},
        {"field": "context.device_type", "op": "in", "value": ["mobile", "tablet"]},
    ]
}
# Expression indexes on the most selective traits; profile_index_sql() writes exactly the
# expression to_q() emits, so PostgreSQL combines them (BitmapAnd) before reading rows.
BENCH_INDEXES = [
    ("bench_profile_city", "profile.city", "string"),
    ("bench_profile_gender", "profile.gender", "enum"),
]


def _setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "personalize.settings")
        os.environ.setdefault("SECRET_KEY", "bench-only-secret")
        os.environ.setdefault("DEBUG", "false")
    django.setup()


def _bench_connection(url: str) -> str:
    """Register BENCH_DATABASE_URL as the `bench` alias, creating the database if missing."""
    import environ
    import psycopg
    from django.db import connections

    cfg = environ.Env.db_url_config(url)
    admin = psycopg.connect(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"],
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    configured = connections.configure_settings(
        {"default": dict(connections.settings["default"]), "bench": cfg}
    )
    connections.settings["bench"] = configured["bench"]
    return "bench"


def _load_profiles(alias: str, n: int) -> int:
    """Create the tables once and COPY `n` synthetic profiles into them; return the site id."""
    import json
    import random

    from django.db import connections

    from tenancy.models import Site

    fns = importlib.import_module("segments.migrations.0002_hash_unit_function")
    from segments.models import Profile

    conn = connections[alias]
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('segments_profile') IS NOT NULL")
        have_table = cur.fetchone()[0]
    if not have_table:
        with conn.schema_editor() as se:
            se.create_model(Site)
            se.create_model(Profile)
    with conn.cursor() as cur:
        cur.execute(fns.CREATE)
    site = Site.objects.using(alias).get_or_create(slug="bench", defaults={"name": "Bench"})[0]
    have = Profile.objects.using(alias).filter(site=site).count()
    if have >= n:
        return site.pk
    rnd = random.Random(42)
    # 40 cities (Detroit spelled two ways); ~5 % of people live in Detroit.
    cities = ["Detroit", "detroit"] + [f"City {k}" for k in range(38)]
    genders = ["female", "male", "non_binary", "unknown"]
    devices = ["mobile", "tablet", "desktop", "tv"]
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        raw = cur.cursor
        with raw.copy(
            "COPY segments_profile (site_id, user_id, traits, last_context, recent_events, "
            "first_seen, last_seen, visit_count, consent, created_at, updated_at, "
            "bucketing_id, experiment_assignments) FROM STDIN"
        ) as copy:
            for i in range(have, n):
                traits = {
                    "city": rnd.choice(cities),
                    "age": rnd.randint(16, 80),
                    "gender": rnd.choice(genders),
                    "lifetime_value": round(rnd.uniform(0, 500), 2),
                    "interests": rnd.sample(["shoes", "books", "travel", "music", "food"], 2),
                }
                ctx = {"device_type": rnd.choice(devices), "os_version": f"17.{rnd.randint(0, 12)}"}
                now = "2026-11-22 12:00:00+00"
                copy.write_row(
                    (
                        site.pk,
                        f"user-{i}",
                        json.dumps(traits),
                        json.dumps(ctx),
                        "[]",
                        now,
                        now,
                        rnd.randint(0, 50),
                        True,
                        now,
                        now,
                        f"user-{i}",
                        "{}",
                    )
                )
        cur.execute("ANALYZE segments_profile")
    print(f"  loaded {n - have:,} profiles in {time.perf_counter() - t0:.1f} s")
    return site.pk


def _ensure_indexes(alias: str) -> None:
    from django.db import connections

    from segments.sql import profile_index_sql

    with connections[alias].cursor() as cur:
        for name, field, type_ in BENCH_INDEXES:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if not cur.fetchone()[0]:
                t0 = time.perf_counter()
                cur.execute(profile_index_sql(name, field, type_))
                cur.execute("ANALYZE segments_profile")
                print(f"  created index {name} in {time.perf_counter() - t0:.1f} s")


def bench_postgres_count(n: int = 1_000_000) -> float | None:
    url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/personalize_bench"
    )
    _setup_django()
    from segments.criteria import compile_criteria
    from segments.models import Profile

    try:
        alias = _bench_connection(url)
    except Exception as exc:  # no PostgreSQL here: report and move on
        print(f"PostgreSQL count: skipped ({exc.__class__.__name__}: {exc})")
        return None
    site_id = _load_profiles(alias, n)
    _ensure_indexes(alias)
    rule = compile_criteria(BENCH_SEGMENT)
    qs = Profile.objects.using(alias).filter(site_id=site_id).filter(rule.to_q())
    qs.count()  # warm the cache
    best, count = float("inf"), 0
    for _ in range(5):
        t0 = time.perf_counter()
        count = qs.count()
        best = min(best, time.perf_counter() - t0)
    print(
        f"PostgreSQL exact count, 5-condition segment over {n:,} profiles: {count:,} match, "
        f"best {best * 1000:.0f} ms of 5 runs"
    )
    return best


def main(argv: list[str] | None = None) -> None:
    """Run everything; `--no-db` skips the PostgreSQL count (e.g. main(["--no-db"]))."""
    argv = [] if argv is None else argv
    _setup_django()
    print("== Criteria engines: µs per decision (100 segments, all evaluated) ==")
    bench_engines()
    if "--no-db" not in argv:
        print("== PostgreSQL segment count ==")
        bench_postgres_count()


if __name__ == "__main__":
    main(sys.argv[1:])
