"""`make bench`: every benchmark in one run (delivery, behaviour, scale, criteria engines,
localization, analytics, experiment statistics, bandit, one-to-one optimization, two
gunicorn instances behind nginx), then each "Done when" ratio of the performance issue
with its target, every figure read against a floor measured in the same run.
`BENCH_ONLY=delivery,analytics` runs a subset.

Knobs (environment): BENCH_HTTP_SECONDS / BENCH_HTTP_ROUNDS (HTTP), BENCH_KNOWN_PROFILES,
BENCH_BROKER_URL, BENCH_EVENT_BATCHES / BENCH_EVENT_ROUNDS, BENCH_BEHAVIOUR_PROFILES /
BENCH_SQL_ROUNDS, BENCH_SCALE_SIZES / BENCH_SCALE_ROUNDS / BENCH_SCALE_SITES,
BENCH_ENGINE_ROUNDS / BENCH_AGREEMENT_VISITORS, BENCH_COUNTERS_PROFILES / _ROUNDS /
_DECIDES / _BATCHES / _BATCH. docs/delivery-performance.md has the
defaults, the run time and a quick configuration.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"


def _step(name: str, fn: Callable[[], Any], results: dict[str, Any]) -> None:
    only = {n.strip() for n in os.environ.get("BENCH_ONLY", "").split(",") if n.strip()}
    if only and name not in only:
        return
    t0 = time.perf_counter()
    try:
        results[name] = fn()
    except Exception:
        traceback.print_exc()
        results.setdefault("failed", []).append(name)
    print(f"({name}: {time.perf_counter() - t0:.0f} s)\n")


def done_when(results: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """(what, value, target, met) for every "Done when" line that was measured."""
    rows: list[tuple[str, float, str, bool]] = []
    http = results.get("delivery", {}).get("http")
    if http:
        share = http["share"]
        rows += [
            (
                "known / anonymous decide, no broker",
                share["known_of_anon"],
                ">= 0.70",
                share["known_of_anon"] >= 0.7,
            ),
            (
                "known / anonymous decide, broker",
                share["known_of_anon_broker"],
                ">= 0.70",
                share["known_of_anon_broker"] >= 0.7,
            ),
            (
                "anonymous decide (all slots) / bare Django view",
                share["anon_of_bare"],
                ">= 0.80",
                share["anon_of_bare"] >= 0.8,
            ),
        ]
        # The delivery site has 20 behavioural segments among its 100 (benchmarks/seed.py):
        # the caller's latency ratio, known over anonymous, is the inverse of the rate ratio.
        latency = 1 / share["known_of_anon"]
        rows.append(
            (
                "known decide, 20 behavioural segments / anonymous, HTTP",
                latency,
                "<= 2",
                latency <= 2,
            )
        )
    behaviour = results.get("behaviour")
    if behaviour:
        r = behaviour["headline_ratio"]
        rows.append(("behavioural count / hand-written SQL", r, "<= 1.5", r <= 1.5))
    scale = results.get("scale")
    if scale and 5000 in scale:
        r = scale[5000]["ratio"]
        rows.append(("explain at 5,000 segments / RuleSet floor", r, "<= 1.5", r <= 1.5))
        ms = scale[5000]["build_ms"]
        rows.append(("snapshot build at 5,000 rules, ms", ms, "<= 400", ms <= 400))
    if scale and "memory" in scale:
        m = scale["memory"]
        rows.append(
            (
                "1,000 sites' snapshots, MB (bound)",
                m["bytes"] / 2**20,
                f"<= {m['bound'] / 2**20:.0f}",
                m["within"],
            )
        )
    events = results.get("delivery", {}).get("events")
    if events:
        r = events["ratio"]
        rows.append(("events API / COPY floor, batches of 500", r, ">= 0.40", r >= 0.4))
    analytics = results.get("analytics")
    if analytics:
        r = analytics["ingest"]["ratio"]
        rows.append(("events with attribution / without", r, ">= 0.80", r >= 0.8))
        ms = analytics["report"]["report_ms"]
        rows.append(("placement report, 90 days x 30 placements, ms", ms, "< 200", ms < 200))
    end_to_end = results.get("optimization")
    if end_to_end:
        r = end_to_end["capture_last"]
        rows.append(
            (
                "optimization via decide + training task: oracle gain captured, last 10,000",
                r,
                ">= 0.70",
                r >= 0.7,
            )
        )
        r = end_to_end["gate_coverage"]
        rows.append(
            ("optimization: the gate's intervals held the models' values", r, ">= 0.90", r >= 0.9)
        )
        us = end_to_end["latency"]["added_us"]
        rows.append(
            ("optimization: µs an optimized slot adds to decide_for_visitor", us, "<= 20", us <= 20)
        )
    optimized = results.get("policy")
    if optimized:
        r = optimized["simulation"]["capture_last"]
        rows.append(
            ("policy engine alone: oracle gain captured, last 10,000", r, ">= 0.70", r >= 0.7)
        )
        r = min(optimized["coverage"]["snips_coverage"], optimized["coverage"]["dr_coverage"])
        rows.append(("optimization: OPE interval coverage, 20 seeds", r, ">= 0.90", r >= 0.9))
        us = optimized["latency"]["choose_us"]
        rows.append(("optimization: policy serve, median us", us, "<= 20", us <= 20))
    predictive = results.get("predictive")
    if predictive:
        r = predictive["auc_ratio"]
        rows.append(("predictive: held-out AUC / recency-frequency AUC", r, "> 1.0", r > 1.0))
        r = predictive["demo"]["auc_ratio"]
        rows.append(("predictive, demo population: AUC / baseline AUC", r, "> 1.0", r > 1.0))
    slot = results.get("optimized")
    if slot:
        us = slot["added_us"]
        rows.append(("decide: µs an optimized slot adds, median", us, "<= 20", us <= 20))
    behavioural = results.get("counters")
    if behavioural:
        r = behavioural["decide"]["ratio_to_floor"]
        rows.append(
            (
                "known decide, 20 behavioural segments / (anonymous + its query), in process",
                r,
                "<= 2",
                r <= 2,
            )
        )
        r = behavioural["ingest"]["ratio"]
        rows.append(("event ingest with counters / without", r, ">= 0.80", r >= 0.8))
    return rows


def main() -> int:
    results: dict[str, Any] = {}
    started = time.perf_counter()
    load = os.getloadavg()
    from benchmarks import delivery

    _step("delivery", delivery.main, results)
    from benchmarks.behaviour import bench_behaviour
    from benchmarks.settings import behaviour_database_url

    def behaviour() -> Any:
        from django.apps import apps

        if not apps.ready:  # BENCH_ONLY skipped the delivery step, which sets Django up
            delivery.setup()
        delivery.ensure_database(behaviour_database_url())
        return bench_behaviour()

    _step("behaviour", behaviour, results)
    from benchmarks.scale import bench_scale

    _step("scale", bench_scale, results)
    from benchmarks import criteria_engines

    _step("engines", lambda: criteria_engines.main(["--no-db"]), results)
    from benchmarks import analytics, experiment_stats, localization

    _step("localization", localization.main, results)
    _step("optimized", localization.bench_optimized, results)
    _step("analytics", analytics.main, results)
    from benchmarks import counters

    _step("counters", counters.main, results)
    _step("experiment_stats", experiment_stats.main, results)
    from benchmarks import bandit

    _step("bandit", bandit.main, results)
    from benchmarks import policy

    _step("policy", policy.main, results)
    from benchmarks import optimization

    _step("optimization", optimization.main, results)
    from benchmarks import predictive

    _step("predictive", predictive.main, results)
    from benchmarks import load_multi

    _step("load_multi", load_multi.main, results)

    print("== Done when (issue: performance), each a ratio to its floor measured in this run ==")
    for what, value, target, met in done_when(results):
        print(f"  {'met ' if met else 'MISS'}  {what}: {value:,.2f} (target {target})")
    end_load = os.getloadavg()
    print(
        f"total {time.perf_counter() - started:.0f} s; load average at start "
        f"{load[0]:.1f}, at end {end_load[0]:.1f} (2 CPUs: above 2 the figures are noisy)"
    )
    return 1 if results.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
