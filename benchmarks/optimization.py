"""One-to-one optimization end to end (`make bench`, step "optimization"): the real decide
service, the real decision logging and the real training task, on the migrated database of
the delivery benchmark.

A site with a placement `hero` of 4 variants and an optimization of it (goal: a purchase
within a day; features: device type, browser, local hour, age and a `loyal` segment;
random holdout 10 %, floor 2 %, retrain every 5,000 decisions). Simulated visitors whose
true conversion rates depend on their features (as benchmarks/policy.py):

    a  5.0 % for everyone (the generic variant)
    b  9.0 % on mobile in the evening (18-23 h), 3.5 % otherwise
    c  8.5 % on desktop, 3.5 % otherwise
    d  10 % for loyal visitors (20 %), 3.0 % otherwise

BENCH_OPT_DECISIONS visitors (50,000), one decide each through `decide_for_visitor` (a
server call with the visitor's context and profile), a minute of simulated time apart and
ending now; the follow-ups log the decision (the visit buffer, then the recording task);
a purchase event is stored when the simulated visitor converts. After every 5,000 the
real Celery task `experiments.train_optimizations` runs (eagerly, on the simulation's clock):
it trains a candidate from the logged decisions and their purchases (those at least a day
old: the settling time), gates it against the live model on held-out decisions and keeps
it as a new version; the next decides serve whatever is live.

Prints: the cumulative goal rate of the policy's decisions, of the random holdout, of the
best single variant and of the oracle (true rates), the share of the oracle's gain over the
best single variant captured in the last 10,000 decisions (target >= 70 %), each training's
gate with the true values of both models and whether the gate's intervals covered them,
training time, and the decide cost an optimized slot adds over a plain one (same site, same
variants, interleaved rounds; target <= 20 µs per slot).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DECISIONS = int(os.environ.get("BENCH_OPT_DECISIONS", "50000"))
BATCH = int(os.environ.get("BENCH_OPT_BATCH", "5000"))
LAST = min(10_000, DECISIONS // 5)
SPACING = timedelta(seconds=60)
SLUG = "bench-optimize"
ARMS = ("a", "b", "c", "d")
FEATURES = [
    {"kind": "category", "field": "context.device_type", "top_k": 5},
    {"kind": "category", "field": "context.browser", "top_k": 4},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "number", "field": "profile.age"},
    {"kind": "segment", "segment": "loyal"},
]
LATENCY_VISITORS = 2_000
LATENCY_ROUNDS = 7


def setup() -> None:
    from benchmarks.loadgen import ensure_database
    from benchmarks.settings import delivery_database_url

    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    ensure_database(delivery_database_url())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed_site() -> tuple[Any, Any]:
    """A fresh site: the `loyal` segment, `hero` (optimized) and `plain` (the same variants,
    not optimized), the purchase goal, the running optimization."""
    from analytics.services.metrics import metric_create
    from content.services.drafts import content_variant_create, placement_create
    from content.services.publishing import slot_publish
    from experiments.services.optimization import optimization_create, optimization_start
    from segments.models import SegmentStatus
    from segments.services.segments import segment_create
    from tenancy.models import Site
    from tenancy.services import site_create

    Site.objects.filter(slug=SLUG).delete()
    site = site_create(name="Bench optimization", slug=SLUG, timezone_name="UTC")
    segment_create(
        site=site,
        key="loyal",
        name="Loyal",
        criteria={
            "all": [{"field": "profile.loyalty_tier", "op": "in", "value": ["gold", "platinum"]}]
        },
        status=SegmentStatus.ACTIVE,
    )
    # Only one variant of a placement may be the default (no segment): the others target a
    # segment no simulated visitor is in, so normal personalization serves `a`.
    nobody = segment_create(
        site=site,
        key="nobody",
        name="Nobody",
        criteria={"all": [{"field": "context.city", "op": "eq", "value": "Nowhere"}]},
        status=SegmentStatus.ACTIVE,
    )
    variants = {}
    placements = {}
    for key in ("hero", "plain"):
        placement = placements[key] = placement_create(site=site, key=key, name=key.title())
        for arm in ARMS:
            variants[(key, arm)] = content_variant_create(
                placement=placement,
                key=f"{key}-{arm}",
                name=arm.upper(),
                body=f"<p>{arm}</p>",
                segment=None if arm == "a" else nobody,
                priority=ARMS.index(arm),
            )
        slot_publish(slot=placement)
    goal = metric_create(
        site=site,
        key="purchase",
        name="Purchase",
        kind="conversion",
        event="purchase",
        window_days=1,
    )
    optimization = optimization_create(
        site=site,
        key="hero-opt",
        name="Hero",
        arms=[{"key": arm, "content_variant": variants[("hero", arm)]} for arm in ARMS],
        placement=placements["hero"],
        goal=goal,
        features=FEATURES,
        holdout_share=0.10,
        floor=0.02,
        retrain_every=BATCH,
        max_depth=3,
        min_leaf=200,
        training_window_days=60,
    )
    optimization = optimization_start(optimization=optimization)
    return site, optimization


def body(doc: dict[str, Any], loyal: bool, slot: str) -> dict[str, Any]:
    profile = dict(doc["profile"])
    if loyal:
        profile["loyalty_tier"] = "gold"
    return {
        "visitor": {"id": doc["visitor"]["id"]},
        "context": doc["context"],
        "profile": profile,
        "placements": [slot],
    }


def true_value(policy: Any, people: dict[str, Any]) -> float:
    """The policy's expected goal rate over a population (its holdout aside)."""
    from experiments.policy.logs import Logs
    from experiments.policy.ope import target_probabilities

    rows = np.array(
        [
            policy.encoder.encode(doc, segments=seg)
            for doc, seg in zip(people["docs"], people["segments"], strict=True)
        ]
    )
    probe = Logs(
        arms=policy.arms,
        rows=rows,
        actions=np.zeros(len(rows), dtype=int),
        propensities=np.ones(len(rows)),
        rewards=np.zeros(len(rows)),
    )
    order = [ARMS.index(a) for a in policy.arms]
    return float(
        (target_probabilities(policy, probe) * people["rates"][:, order]).sum(axis=1).mean()
    )


def _settled(optimization: Any, expected: int, timeout: float = 60.0) -> None:
    """Wait for the visit buffer's flush thread to finish writing what it took: every
    decision so far is then in the table (one per visitor: each is a new visitor)."""
    from experiments.models import PolicyDecision

    deadline = time.monotonic() + timeout
    while PolicyDecision.objects.filter(optimization=optimization).count() < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {expected:,} decisions were logged")
        time.sleep(0.05)


def simulate(site: Any, optimization: Any, seed: int = 1) -> dict[str, Any]:
    from django.utils import timezone

    from benchmarks.policy import population
    from delivery.services import decide_for_visitor
    from delivery.validation import validate_decide
    from delivery.visit_buffer import visits_flush
    from experiments.models import PolicyDecision, PolicyVersion
    from experiments.policy.compiled import CompiledPolicy
    from experiments.tasks import train_optimizations
    from segments.models import Event

    rng = np.random.default_rng(seed)
    people = population(rng, DECISIONS)
    truth_people = population(np.random.default_rng(999), 20_000, offset=10**7)
    rates = people["rates"]
    units = [d["visitor"]["id"] for d in people["docs"]]
    start = timezone.now() - SPACING * DECISIONS
    shown = np.full(DECISIONS, -1)
    trainings: list[dict[str, Any]] = []
    live_per_batch: list[int] = []
    decide_seconds = 0.0
    for batch_start in range(0, DECISIONS, BATCH):
        batch_end = min(DECISIONS, batch_start + BATCH)
        optimization.refresh_from_db()
        live_per_batch.append(optimization.live_version.number if optimization.live_version else 0)
        purchases = []
        t0 = time.perf_counter()
        for i in range(batch_start, batch_end):
            at = start + SPACING * i
            loyal = bool(people["segments"][i])
            data = validate_decide(body(people["docs"][i], loyal, "hero"))
            decision = decide_for_visitor(site_id=site.pk, data=data, caller="server", now=at)
            for followup in decision.followups:
                followup()
            entry = decision.body["placements"]["hero"]
            arm = entry["variant"].removeprefix("hero-")
            shown[i] = ARMS.index(arm)
            if rng.random() < rates[i, shown[i]]:
                purchases.append(
                    Event(
                        site_id=site.pk,
                        visitor_id=units[i],
                        name="purchase",
                        occurred_at=at + timedelta(minutes=5),
                    )
                )
        decide_seconds += time.perf_counter() - t0
        visits_flush()  # the buffered decisions, written by the recording task (eager)
        _settled(optimization, batch_end)
        Event.objects.bulk_create(purchases, batch_size=1000)
        if batch_end == DECISIONS:
            break
        before = set(
            PolicyVersion.objects.filter(optimization=optimization).values_list("pk", flat=True)
        )
        t0 = time.perf_counter()
        # The task runs on the simulation's clock: the batch's last decision is "now".
        with mock.patch("django.utils.timezone.now", return_value=start + SPACING * batch_end):
            train_optimizations.apply()
        seconds = time.perf_counter() - t0
        for version in PolicyVersion.objects.filter(optimization=optimization).exclude(
            pk__in=before
        ):
            candidate = CompiledPolicy.from_json(version.policy)
            quality = version.quality or {}
            live_number = quality.get("live_version")
            live_row = (
                PolicyVersion.objects.filter(optimization=optimization, number=live_number).first()
                if live_number
                else None
            )
            from experiments.policy.slot import compile_optimization

            live_policy = (
                CompiledPolicy.from_json(live_row.policy)
                if live_row is not None
                else compile_optimization(
                    key=optimization.key,
                    slot_kind="placement",
                    slot_key="hero",
                    variants={a: f"hero-{a}" for a in ARMS},
                    features=FEATURES,
                    seed=optimization.seed,
                    holdout_share=optimization.holdout_share,
                ).policy
            )
            trainings.append(
                {
                    "after": batch_end,
                    "version": version.number,
                    "status": version.status,
                    "seconds": seconds,
                    "quality": quality,
                    "candidate_truth": true_value(candidate, truth_people),
                    "live_truth": true_value(live_policy, truth_people),
                }
            )
    holdout = np.zeros(DECISIONS, dtype=bool)
    flags = dict(
        PolicyDecision.objects.filter(optimization=optimization).values_list("unit_id", "holdout")
    )
    holdout[:] = [flags.get(u, False) for u in units]
    logged = len(flags)
    idx = np.arange(DECISIONS)
    true_shown = rates[idx, shown]
    policy = ~holdout
    last = idx >= DECISIONS - LAST
    best_single = rates.mean(axis=0)
    best_arm = int(best_single.argmax())
    oracle = rates.max(axis=1)
    mask = policy & last
    gain = oracle[mask].mean() - rates[mask, best_arm].mean()
    return {
        "decide_us": decide_seconds / DECISIONS * 1e6,
        "logged": logged,
        "live_per_batch": live_per_batch,
        "trainings": trainings,
        "policy_rate": float(true_shown[policy].mean()),
        "holdout_rate": float(true_shown[holdout].mean()),
        "best_single_rate": float(best_single.max()),
        "best_single_arm": ARMS[best_arm],
        "oracle_rate": float(oracle.mean()),
        "last_policy_rate": float(true_shown[mask].mean()),
        "capture_last": float((true_shown[mask].mean() - rates[mask, best_arm].mean()) / gain),
        "holdout_share": float(holdout.mean()),
    }


def latency(site: Any) -> dict[str, float]:
    """decide_for_visitor of the optimized slot vs the plain one, same site and snapshot,
    interleaved rounds of the same visitors."""
    from benchmarks.policy import population
    from delivery.services import decide_for_visitor
    from delivery.validation import validate_decide

    people = population(np.random.default_rng(4242), LATENCY_VISITORS, offset=10**8)
    bodies = {
        slot: [
            validate_decide(body(doc, bool(seg), slot))
            for doc, seg in zip(people["docs"], people["segments"], strict=True)
        ]
        for slot in ("plain", "hero")
    }
    for slot in bodies:  # warm-up
        for data in bodies[slot][:200]:
            decide_for_visitor(site_id=site.pk, data=data, caller="server")
    samples: dict[str, list[float]] = {slot: [] for slot in bodies}
    for _ in range(LATENCY_ROUNDS):
        for slot, items in bodies.items():
            t0 = time.perf_counter()
            for data in items:
                decide_for_visitor(site_id=site.pk, data=data, caller="server")
            samples[slot].append((time.perf_counter() - t0) / len(items) * 1e6)
    plain = statistics.median(samples["plain"])
    hero = statistics.median(samples["hero"])
    return {
        "plain_us": plain,
        "optimized_us": hero,
        "added_us": hero - plain,
        "ratio": hero / plain,
    }


def main() -> dict[str, Any]:
    setup()
    t0 = time.perf_counter()
    site, optimization = seed_site()
    sim = simulate(site, optimization)
    print("== One-to-one optimization through decide and the training task ==")
    print(
        f"  {DECISIONS:,} decides ({sim['decide_us']:.0f} µs each with the follow-ups), "
        f"{sim['logged']:,} decisions logged, holdout {sim['holdout_share']:.1%}; live version "
        f"per batch of {BATCH:,}: {' '.join(f'v{n}' for n in sim['live_per_batch'])}"
    )
    covered = total = 0
    for t in sim["trainings"]:
        q = t["quality"]
        cand, live = q.get("candidate") or {}, q.get("live") or {}
        line = (
            f"    after {t['after']:>6,}: v{t['version']} {t['status']:<8} "
            f"true {t['candidate_truth']:.4f} vs live {t['live_truth']:.4f}"
        )
        if cand and live:
            c_ok = cand["ci_low"] <= t["candidate_truth"] <= cand["ci_high"]
            l_ok = live["ci_low"] <= t["live_truth"] <= live["ci_high"]
            covered += c_ok + l_ok
            total += 2
            line += (
                f"; gate ({cand.get('estimator', 'dr')}) {cand['value']:.4f} "
                f"[{cand['ci_low']:.4f}, {cand['ci_high']:.4f}] vs {live['value']:.4f} "
                f"[{live['ci_low']:.4f}, {live['ci_high']:.4f}]"
            )
        print(line + f" ({t['seconds']:.1f} s)")
    print("  goal rate (true rates of the variants shown):")
    print(f"    policy               {sim['policy_rate']:.4f}")
    print(f"    random holdout       {sim['holdout_rate']:.4f}")
    print(f"    best single variant  {sim['best_single_rate']:.4f} ({sim['best_single_arm']})")
    print(f"    oracle               {sim['oracle_rate']:.4f}")
    print(
        f"  last {LAST:,} decisions: policy {sim['last_policy_rate']:.4f}; share of the oracle's "
        f"gain over the best single variant captured: {sim['capture_last']:.1%} (target >= 70 %)"
    )
    coverage = covered / total if total else float("nan")
    if total:
        print(
            f"  the gate's 95 % intervals held the true value of {covered} of {total} models "
            f"({coverage:.0%})"
        )
    lat = latency(site)
    print(
        f"  decide_for_visitor, one slot: optimized {lat['optimized_us']:.1f} µs vs plain "
        f"{lat['plain_us']:.1f} µs: +{lat['added_us']:.1f} µs per optimized slot "
        f"({lat['ratio']:.2f}x; target <= 20 µs)"
    )
    print(f"  ({time.perf_counter() - t0:.0f} s)")
    return {**sim, "gate_coverage": coverage, "latency": lat}


if __name__ == "__main__":
    main()
