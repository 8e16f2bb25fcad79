"""One-to-one optimization by simulation, through the pure policy code (no HTTP yet).

Visitors with features (device, local hour, age, a noisy browser field, a loyalty segment)
and 4 variants whose true conversion rates depend on those features:

    a  5.0 % for everyone (the generic variant: what an A/B test ships)
    b  9.0 % on mobile in the evening (18-23 h), 3.5 % otherwise
    c  8.5 % on desktop, 3.5 % otherwise
    d  10 % for members of the loyalty segment (20 % of visitors), 3.0 % otherwise

50,000 decisions, one visitor each, through experiments.policy: encode the visitor document
(features.FeatureEncoder), `serve.decide` (10 % random-allocation holdout, the rest by the
live model's leaf probabilities and the hash draw), a simulated conversion. Every 5,000
decisions a candidate is trained (train.train_policy) on 75 % of all the logs so far (a hash
split by visitor) and goes live only if the promotion gate (ope.promote, doubly robust, on
the other 25 %) says it beats the live model. The first model is uniform.

Prints: the cumulative goal rate of the policy's decisions, of the random holdout, of the
best single variant and of the oracle (each visitor's best variant), the share of the
oracle's gain over the best single variant that the policy captured in the last 10,000
decisions (target >= 70 %; from the true rates of the variants shown, so that Bernoulli
noise does not blur it; the realised rates are printed too), the off-policy interval
coverage over 20 seeds (target >= 90 %), and the serve cost per decision (median µs,
target <= 20) beside a floor (a dict lookup of a precomputed arm).

    python benchmarks/policy.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments.policy.compiled import CompiledPolicy, single_leaf_policy
from experiments.policy.features import FeatureEncoder, fit_encoder
from experiments.policy.logs import Logs
from experiments.policy.ope import estimate, promote, target_probabilities
from experiments.policy.reward import fit_reward_model
from experiments.policy.serve import choose, decide
from experiments.policy.train import TrainConfig, train_policy

ARMS = ("a", "b", "c", "d")
DEVICES = ("mobile", "desktop", "tablet")
BROWSERS = ("chrome", "safari", "firefox", "edge", "samsung", "opera")
SPEC = [
    {"kind": "category", "field": "context.device_type", "top_k": 5},
    {"kind": "category", "field": "context.browser", "top_k": 4},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "number", "field": "profile.age"},
    {"kind": "segment", "segment": "loyal"},
]
DECISIONS = 50_000
BATCH = 5_000
LAST = 10_000
HOLDOUT = 0.10
HELD_OUT = 0.25
CONFIG = TrainConfig(max_depth=3, min_leaf=200, floor=0.02)
GATE_MARGIN = 0.02  # the not_worse rule: better, and not shown worse by more than this
SEED = "bench-optimize"
COVERAGE_SEEDS = 20
COVERAGE_DECISIONS = 10_000


def population(rng: np.random.Generator, n: int, offset: int = 0) -> dict[str, Any]:
    device = rng.choice(len(DEVICES), size=n, p=[0.5, 0.35, 0.15])
    hour = rng.integers(0, 24, size=n)
    age = rng.integers(18, 75, size=n)
    browser = rng.choice(len(BROWSERS), size=n)
    loyal = rng.random(n) < 0.2
    rates = np.empty((n, 4))
    rates[:, 0] = 0.05
    rates[:, 1] = np.where((device == 0) & (hour >= 18), 0.09, 0.035)
    rates[:, 2] = np.where(device == 1, 0.085, 0.035)
    rates[:, 3] = np.where(loyal, 0.10, 0.03)
    docs = [
        {
            "visitor": {"id": f"u{offset + i}"},
            "profile": {"age": int(age[i])} if i % 7 else {},
            "context": {
                "device_type": DEVICES[device[i]],
                "browser": BROWSERS[browser[i]],
                "local_time": f"2026-05-04T{hour[i]:02d}:30:00+02:00",
            },
        }
        for i in range(n)
    ]
    segments = [("loyal",) if loyal[i] else () for i in range(n)]
    return {"docs": docs, "segments": segments, "rates": rates}


def encode(encoder: FeatureEncoder, people: dict[str, Any]) -> np.ndarray:
    return np.array(
        [
            encoder.encode(doc, segments=seg)
            for doc, seg in zip(people["docs"], people["segments"], strict=True)
        ]
    )


def simulate(seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    people = population(rng, DECISIONS)
    # The vocabularies come from a first day of traffic, as the training task would see.
    encoder = fit_encoder(SPEC, people["docs"][:BATCH])
    rows = encode(encoder, people)
    rates = people["rates"]
    live: CompiledPolicy = single_leaf_policy(arms=ARMS, encoder=encoder, seed=SEED)
    actions = np.empty(DECISIONS, dtype=int)
    propensities = np.empty(DECISIONS)
    holdout = np.zeros(DECISIONS, dtype=bool)
    rewards = np.empty(DECISIONS)
    units = tuple(d["visitor"]["id"] for d in people["docs"])
    versions: list[str] = []
    for start in range(0, DECISIONS, BATCH):
        for i in range(start, start + BATCH):
            d = decide(live, rows[i].tolist(), units[i], holdout_share=HOLDOUT)
            actions[i] = ARMS.index(d.arm)
            propensities[i] = d.propensity
            holdout[i] = d.holdout
        rewards[start : start + BATCH] = (
            rng.random(BATCH)
            < rates[np.arange(start, start + BATCH), actions[start : start + BATCH]]
        )
        versions.append(live.version)
        end = start + BATCH
        if end == DECISIONS:
            break
        logs = Logs(
            arms=ARMS,
            rows=rows[:end],
            actions=actions[:end],
            propensities=propensities[:end],
            rewards=rewards[:end],
            units=units[:end],
        )
        train, held = logs.split(salt=SEED + ":split", held_out_share=HELD_OUT)
        candidate = train_policy(
            logs=train,
            encoder=encoder,
            seed=SEED,
            version=f"v{end // BATCH}",
            config=CONFIG,
            rng_seed=end,
            metadata={"window": [0, end]},
        )
        model = fit_reward_model(train)
        gate = promote(
            candidate,
            live,
            held,
            reward_predictions=model.predict(held.rows),
            rule="not_worse",
            margin=GATE_MARGIN,
        )
        if gate.promote:
            live = candidate
    idx = np.arange(DECISIONS)
    shown = rates[idx, actions]
    policy = ~holdout
    last = idx >= DECISIONS - LAST
    best_single = rates.mean(axis=0)
    best_arm = int(best_single.argmax())
    oracle = rates.max(axis=1)

    def capture(mask: np.ndarray) -> float:
        gain = oracle[mask].mean() - rates[mask, best_arm].mean()
        return float((shown[mask].mean() - rates[mask, best_arm].mean()) / gain)

    return {
        "versions": versions,
        "live": live,
        "encoder": encoder,
        "policy_rate": float(rewards[policy].mean()),
        "holdout_rate": float(rewards[holdout].mean()),
        "best_single_rate": float(best_single.max()),
        "best_single_arm": ARMS[best_arm],
        "oracle_rate": float(oracle.mean()),
        "policy_expected": float(shown[policy].mean()),
        "holdout_expected": float(shown[holdout].mean()),
        "last_policy_rate": float(rewards[policy & last].mean()),
        "last_policy_expected": float(shown[policy & last].mean()),
        "capture_last": capture(policy & last),
        "logs": Logs(
            arms=ARMS,
            rows=rows,
            actions=actions,
            propensities=propensities,
            rewards=rewards,
            units=units,
        ),
    }


def coverage(live: CompiledPolicy, logs: Logs) -> dict[str, float]:
    """Fresh logs under the live model (with its holdout), 20 seeds; the target is a
    greedier model (floor 1 %) trained on the simulation's logs: does each interval hold
    the target's true value?"""
    target = train_policy(
        logs=logs,
        encoder=live.encoder,
        seed=SEED,
        version="target",
        config=TrainConfig(max_depth=4, min_leaf=20, floor=0.01),
    )
    truth_people = population(np.random.default_rng(999), 100_000, offset=10**7)
    truth_rows = encode(live.encoder, truth_people)
    probe = Logs(
        arms=ARMS,
        rows=truth_rows,
        actions=np.zeros(len(truth_rows), dtype=int),
        propensities=np.ones(len(truth_rows)),
        rewards=np.zeros(len(truth_rows)),
    )
    truth = float((target_probabilities(target, probe) * truth_people["rates"]).sum(axis=1).mean())
    covered = {"snips": 0, "dr": 0}
    widths: dict[str, list[float]] = {"snips": [], "dr": []}
    for s in range(COVERAGE_SEEDS):
        rng = np.random.default_rng(5_000 + s)
        people = population(rng, COVERAGE_DECISIONS, offset=10**6 * (s + 1))
        rows = encode(live.encoder, people)
        actions = np.empty(COVERAGE_DECISIONS, dtype=int)
        props = np.empty(COVERAGE_DECISIONS)
        for i, doc in enumerate(people["docs"]):
            d = decide(live, rows[i].tolist(), doc["visitor"]["id"], holdout_share=HOLDOUT)
            actions[i], props[i] = ARMS.index(d.arm), d.propensity
        rewards = rng.random(COVERAGE_DECISIONS) < people["rates"][np.arange(len(rows)), actions]
        fresh = Logs(
            arms=ARMS, rows=rows, actions=actions, propensities=props, rewards=rewards * 1.0
        )
        probs = target_probabilities(target, fresh)
        for name in covered:
            result = estimate(probs, fresh, estimator=name)  # type: ignore[arg-type]
            covered[name] += result.ci_low <= truth <= result.ci_high
            widths[name].append(result.ci_high - result.ci_low)
    return {
        "truth": truth,
        **{f"{k}_coverage": v / COVERAGE_SEEDS for k, v in covered.items()},
        **{f"{k}_width": float(np.mean(v)) for k, v in widths.items()},
    }


def latency(live: CompiledPolicy, encoder: FeatureEncoder) -> dict[str, float]:
    people = population(np.random.default_rng(77), 2_000, offset=10**8)
    rows = [r.tolist() for r in encode(encoder, people)]
    units = [d["visitor"]["id"] for d in people["docs"]]
    precomputed = {u: choose(live, r, u)[0] for u, r in zip(units, rows, strict=True)}
    pairs = list(zip(rows, units, strict=True))
    docs = list(zip(people["docs"], people["segments"], strict=True))

    def per_call(fn: Any, items: list) -> float:
        samples = []
        for _ in range(15):
            t0 = time.perf_counter()
            for item in items:
                fn(item)
            samples.append((time.perf_counter() - t0) / len(items) * 1e6)
        return statistics.median(samples)

    return {
        "choose_us": per_call(lambda p: choose(live, p[0], p[1]), pairs),
        "floor_us": per_call(lambda p: precomputed[p[1]], pairs),
        "encode_us": per_call(lambda d: encoder.encode(d[0], segments=d[1]), docs),
    }


def main() -> dict[str, Any]:
    t0 = time.perf_counter()
    sim = simulate()
    live = sim["live"]
    print("== One-to-one optimization (experiments.policy), simulated ==")
    print(
        f"  {DECISIONS:,} decisions, retraining every {BATCH:,}, holdout {HOLDOUT:.0%}, "
        f"floor {CONFIG.floor:.0%}; live model per batch: {' '.join(sim['versions'])}; "
        f"final model: {live.leaves} leaves ({time.perf_counter() - t0:.1f} s)"
    )
    print("  cumulative goal rate (realised; expected from the true rates of the arms shown):")
    print(f"    policy        {sim['policy_rate']:.4f}  ({sim['policy_expected']:.4f})")
    print(f"    random holdout {sim['holdout_rate']:.4f}  ({sim['holdout_expected']:.4f})")
    print(f"    best single variant ({sim['best_single_arm']}) {sim['best_single_rate']:.4f}")
    print(f"    oracle        {sim['oracle_rate']:.4f}")
    print(
        f"  last {LAST:,} decisions: policy {sim['last_policy_rate']:.4f} realised "
        f"({sim['last_policy_expected']:.4f} expected); share of the oracle's gain over the "
        f"best single variant captured: {sim['capture_last']:.1%} (target >= 70 %)"
    )
    cov = coverage(live, sim["logs"])
    print(
        f"  off-policy intervals (95 %) over {COVERAGE_SEEDS} seeds of {COVERAGE_DECISIONS:,} "
        f"logged decisions, true value {cov['truth']:.4f}: SNIPS covers "
        f"{cov['snips_coverage']:.0%} (mean width {cov['snips_width']:.4f}), DR covers "
        f"{cov['dr_coverage']:.0%} (mean width {cov['dr_width']:.4f}) (target >= 90 %)"
    )
    lat = latency(live, sim["encoder"])
    print(
        f"  serve: choose() {lat['choose_us']:.2f} µs median per decision (target <= 20) "
        f"vs floor (dict lookup of a precomputed arm) {lat['floor_us']:.2f} µs; encoding the "
        f"visitor document {lat['encode_us']:.2f} µs (once per decide, shared by its slots)"
    )
    return {
        "simulation": {k: v for k, v in sim.items() if k not in ("live", "logs", "encoder")},
        "coverage": cov,
        "latency": lat,
    }


if __name__ == "__main__":
    main()
