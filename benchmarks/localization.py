"""Localization benchmark: what translations cost engine.decide, in process (no database).

A site of 30 placements x 5 variants and a screen, targeted with 20 compiled segments, is
built twice: without translations (the floor) and with every variant translated into
fr, fr-CA, es and de. The same 2,000 varied visitors are decided in interleaved rounds
(floor / translated, no language / translated, "fr-CA,fr;q=0.9,en;q=0.8" / translated,
"pt-BR" (no such translation) / translated, a 10,000-character garbage value); the median
µs per decision of each is printed beside the floor's, as a ratio. No timing is asserted.

`bench_optimized` (step "optimized" of `make bench`): the same site without translations,
with and without a running optimization on one placement (a depth-4 policy over 6
features: device, age, local hour, a segment, recency, purchase frequency; 5 arms, 10 %
holdout); the same visitors decided in interleaved rounds, as a page of that placement and
as every slot. Prints the medians, the µs an optimized slot adds (target ≤ 20) and the
ratio.

    python benchmarks/localization.py              # both
    python benchmarks/localization.py optimized    # the optimized slot only
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUNDS = 7
LANGUAGES = ["fr", "fr-CA", "es", "de"]
CASES = {
    "no language": None,
    "fr-CA,fr;q=0.9,en;q=0.8": "fr-CA,fr;q=0.9,en;q=0.8",
    "pt-BR (untranslated)": "pt-BR",
    "garbage, 10k chars": "\ud800" + "x;q=" * 2500,
}


def _site(translated: bool) -> Any:
    from content.published import site_from_slots, slot_from_snapshot

    def variant(slot: int, k: int, segment: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": f"v{k}",
            "segment": segment,
            "priority": k,
            "body": f"<p>placement {slot} variant {k}</p>",
        }
        if translated:
            data["translations"] = {
                tag: {"body": f"<p>placement {slot} variant {k} [{tag}]</p>"} for tag in LANGUAGES
            }
        return data

    rng = random.Random(5)
    placements = [
        slot_from_snapshot(
            {
                "key": f"placement_{j:02d}",
                "kind": "html",
                "variants": [
                    *(variant(j, k, f"segment-{rng.randrange(20)}") for k in range(4)),
                    variant(j, 4, None),
                ],
            },
            "placement",
            1,
        )
        for j in range(30)
    ]
    screen = slot_from_snapshot(
        {
            "key": "home",
            "variants": [
                {"key": "d", "segment": None, "design": {"root": {"type": "Screen"}}}
                | (
                    {"translations": {t: {"design": {"root": {"type": "X"}}} for t in LANGUAGES}}
                    if translated
                    else {}
                )
            ],
        },
        "screen",
        1,
    )
    return site_from_slots(site_id=1, version=1, placements=placements, screens=[screen])


def _snapshot(translated: bool) -> Any:
    from delivery.engine import Snapshot
    from segments import criteria

    cities = ["Detroit", "Paris", "Lyon", "Austin", "Boston"]
    rules = {
        f"segment-{i}": criteria.compile_criteria(
            {
                "all": [
                    {"field": "context.city", "op": "eq", "value": cities[i % len(cities)]},
                    {"field": "profile.age", "op": "gte", "value": 18 + i},
                ]
            }
        )
        for i in range(20)
    }
    return Snapshot(site_id=1, version=1, published=_site(translated), rules=rules)


def _documents(n: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    cities = ["Detroit", "Paris", "Lyon", "Austin", "Boston", "Quebec"]
    return [
        {
            "visitor": {"id": f"anon-{i}", "is_known": False, "consent": True},
            "profile": {"age": rng.randint(16, 70)},
            "context": {"city": rng.choice(cities)},
            "events": [],
        }
        for i in range(n)
    ]


OPTIMIZED_FEATURES = [
    {"kind": "category", "field": "context.device_type", "top_k": 3},
    {"kind": "number", "field": "profile.age"},
    {"kind": "hour", "field": "context.local_time"},
    {"kind": "segment", "segment": "segment-0"},
    {"kind": "recency"},
    {"kind": "frequency", "event": "purchase", "within_days": 30},
]


def _policy(depth: int = 4) -> Any:
    """A full tree of `depth` over the 6 features (columns: 0-3 device, 4 age, 5 hour,
    6 segment, 7 recency, 8 frequency), random splits and leaf probabilities over 5 arms."""
    from experiments.policy.compiled import CompiledPolicy
    from experiments.policy.features import FeatureEncoder, parse_feature_spec

    rng = random.Random(3)
    encoder = FeatureEncoder(
        features=parse_feature_spec(OPTIMIZED_FEATURES),
        vocabularies=(("mobile", "desktop", "tablet"), (), (), (), (), ()),
    )
    splits = {0: 0.5, 1: 0.5, 2: 0.5, 4: 40.0, 5: 12.5, 6: 0.5, 7: 3.0, 8: 1.5}
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    leaf: list[int] = []
    probabilities: list[tuple[float, ...]] = []

    def grow(level: int) -> int:  # preorder: children come after their parent
        node = len(feature)
        for table in (feature, left, right, leaf):
            table.append(-1)
        threshold.append(0.0)
        if level == depth:
            leaf[node] = len(probabilities)
            weights = [rng.random() + 0.1 for _ in range(5)]
            probabilities.append(tuple(w / sum(weights) for w in weights))
            return node
        column = rng.choice(sorted(splits))
        feature[node], threshold[node] = column, splits[column]
        left[node] = grow(level + 1)
        right[node] = grow(level + 1)
        return node

    grow(0)
    return CompiledPolicy(
        version="bench",
        seed="bench-opt",
        arms=tuple(f"arm-{k}" for k in range(5)),
        encoder=encoder,
        feature=tuple(feature),
        threshold=tuple(threshold),
        left=tuple(left),
        right=tuple(right),
        missing_left=tuple(rng.random() < 0.5 for _ in feature),
        leaf=tuple(leaf),
        probabilities=tuple(probabilities),
        floor=0.0,
    )


def _optimized_documents(n: int) -> list[dict[str, Any]]:
    from delivery.engine import visitor_document

    rng = random.Random(13)
    now = datetime.now(UTC)
    out = []
    for i, base in enumerate(_documents(n)):
        events = [
            {
                "name": "purchase",
                "timestamp": (now - timedelta(days=rng.randint(0, 60))).isoformat(),
            }
            for _ in range(rng.randint(0, 3))
        ]
        context = {
            **base["context"],
            "device_type": rng.choice(["mobile", "desktop", "tablet", "tv"]),
            "local_time": f"2026-11-30T{rng.randint(0, 23):02d}:15:00-05:00",
        }
        out.append(
            visitor_document(
                visitor_id=f"anon-{i}",
                user_id=None,
                consent=True,
                stored=None,
                inline_profile=base["profile"],
                context=context,
                inline_events=events,
            )
        )
    return out


def bench_optimized() -> dict[str, Any]:
    """engine.decide with one optimized placement against the same site without it."""
    from dataclasses import replace

    from delivery.engine import Optimized, decide
    from experiments.policy.slot import CompiledOptimization

    now = datetime.now(UTC)
    floor = _snapshot(False)
    policy = _policy()
    optimization = CompiledOptimization(
        key="bench-opt",
        slot_kind="placement",
        slot_key="placement_00",
        policy=policy,
        version=1,
        holdout_share=0.1,
        variants={f"arm-{k}": f"v{k}" for k in range(5)},
    )
    optimized = replace(floor, optimizations=(optimization,))
    assert not optimized.broken_optimizations, optimized.broken_optimizations
    docs = _optimized_documents(2000)
    page = ("placement_00",)
    runs = [
        ("page of the slot, not optimized", floor, page),
        ("page of the slot, optimized", optimized, page),
        ("every slot, not optimized", floor, None),
        ("every slot, optimized", optimized, None),
    ]
    drawn: list[Optimized] = []
    for _, snapshot, placements in runs:  # warm-up, and a check that the slot is optimized
        for doc in docs[:200]:
            decide(snapshot, doc, now=now, placements=placements, optimized=drawn)
    assert len(drawn) == 400, len(drawn)
    samples: dict[str, list[int]] = {name: [] for name, _, _ in runs}
    clock = time.perf_counter_ns
    for _ in range(ROUNDS):
        for name, snapshot, placements in runs:
            for doc in docs:
                t0 = clock()
                decide(snapshot, doc, now=now, placements=placements, optimized=[])
                samples[name].append(clock() - t0)
    medians = {name: statistics.median(values) / 1000 for name, values in samples.items()}
    page_added = medians[runs[1][0]] - medians[runs[0][0]]
    every_added = medians[runs[3][0]] - medians[runs[2][0]]
    print(
        f"engine.decide with one optimized slot (depth-4 policy, {policy.leaves} leaves, "
        f"6 features, 5 arms), {len(docs)} visitors x {ROUNDS}:"
    )
    for name, median in medians.items():
        print(f"  {name:<36} median {median:6.1f} µs")
    print(
        f"  added per optimized slot: page {page_added:5.1f} µs "
        f"({medians[runs[1][0]] / medians[runs[0][0]]:.2f}x), every slot {every_added:5.1f} µs "
        f"({medians[runs[3][0]] / medians[runs[2][0]]:.2f}x); target <= 20 µs"
    )
    return {
        "medians": medians,
        "added_us": max(page_added, every_added),
        "page_ratio": medians[runs[1][0]] / medians[runs[0][0]],
        "every_ratio": medians[runs[3][0]] / medians[runs[2][0]],
    }


def main() -> dict[str, float]:
    from delivery.engine import decide

    now = datetime.now(UTC)
    floor, translated = _snapshot(False), _snapshot(True)
    docs = _documents(2000)
    runs = [("floor (no translations, no language)", floor, None)] + [
        (f"translated, {name}", translated, value) for name, value in CASES.items()
    ]

    def with_language(value: Any) -> list[dict[str, Any]]:
        if value is None:
            return docs
        return [{**d, "context": {**d["context"], "language": value}} for d in docs]

    inputs = {name: with_language(value) for name, _, value in runs}
    for name, snapshot, _ in runs:  # warm-up (and the language chain cache)
        for doc in inputs[name][:200]:
            decide(snapshot, doc, now=now)
    samples: dict[str, list[int]] = {name: [] for name, _, _ in runs}
    clock = time.perf_counter_ns
    for _ in range(ROUNDS):  # interleaved, so load from elsewhere hits every case alike
        for name, snapshot, _ in runs:
            for doc in inputs[name]:
                t0 = clock()
                decide(snapshot, doc, now=now)
                samples[name].append(clock() - t0)
    medians = {name: statistics.median(values) / 1000 for name, values in samples.items()}
    base = medians[runs[0][0]]
    print(f"engine.decide, 30 placements x 5 variants + 1 screen, {len(docs)} visitors x {ROUNDS}:")
    for name, median in medians.items():
        print(f"  {name:<48} median {median:6.1f} µs  = {median / base:.2f}x the floor")
    return medians


if __name__ == "__main__":
    if sys.argv[1:] != ["optimized"]:
        main()
    bench_optimized()
