"""Localization benchmark: what translations cost engine.decide, in process (no database).

A site of 30 placements x 5 variants and a screen, targeted with 20 compiled segments, is
built twice: without translations (the floor) and with every variant translated into
fr, fr-CA, es and de. The same 2,000 varied visitors are decided in interleaved rounds
(floor / translated, no language / translated, "fr-CA,fr;q=0.9,en;q=0.8" / translated,
"pt-BR" (no such translation) / translated, a 10,000-character garbage value); the median
µs per decision of each is printed beside the floor's, as a ratio. No timing is asserted.

    python benchmarks/localization.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime
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
    main()
