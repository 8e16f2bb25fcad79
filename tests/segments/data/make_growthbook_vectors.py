"""Regenerate growthbook_hash_vectors.json from the `growthbook` package (the `bench` extra).

    python tests/segments/data/make_growthbook_vectors.py

The vectors freeze GrowthBook's hashing v2 and bucket ranges, so tests/segments/test_bucketing.py
checks segments.bucketing against GrowthBook without importing it (`pip install -e .[dev]`
is enough to run the suite). Not a test module: pytest only collects test_*.py.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from edge_ids import IDS  # this folder is on sys.path when run as a script
from growthbook.core import chooseVariation, fnv1a32, gbhash, getBucketRanges

OUT = Path(__file__).with_name("growthbook_hash_vectors.json")

SEEDS = ["", "spring-promo", "é-seed", "🌸"]
# Code point ranges random ids draw from: ASCII, Latin-1, Greek, CJK, and astral emoji and
# mathematical letters (surrogate pairs in UTF-16, which the hash runs over).
ALPHABETS = [
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x391, 0x3C9),
    (0x4E00, 0x4FFF),
    (0x1F600, 0x1F64F),
    (0x1D400, 0x1D4FF),
]
BUCKETS = [
    ([0.5, 0.5], 1.0),
    ([0.2, 0.3, 0.5], 0.6),
    ([1 / 3] * 3, 1.0),
    ([0.1, 0.9], 0.0),
    ([1.0], 0.25),
]
POINTS = [0, 0.1, 0.2, 0.3333, 0.5, 0.5999, 0.6, 0.9999]


def random_text(rng: random.Random) -> str:
    alphabets = rng.sample(ALPHABETS, rng.randint(1, 3))
    return "".join(chr(rng.randint(*rng.choice(alphabets))) for _ in range(rng.randint(0, 40)))


def hash_vector(seed: str, unit: str) -> dict[str, object]:
    return {
        "seed": seed,
        "id": unit,
        "hash_unit": gbhash(seed, unit, 2),
        "fnv1a32": fnv1a32(seed + unit),
    }


def main() -> None:
    rng = random.Random(20261122)
    pairs = [(seed, unit) for seed in SEEDS for unit in IDS]
    pairs += [(random_text(rng), random_text(rng)) for _ in range(300)]
    buckets = []
    for weights, coverage in BUCKETS:
        ranges = getBucketRanges(len(weights), coverage, weights)
        buckets.append(
            {
                "weights": weights,
                "coverage": coverage,
                "ranges": [list(r) for r in ranges],
                "choices": [[n, chooseVariation(n, ranges)] for n in POINTS],
            }
        )
    vectors = {
        "about": "GrowthBook hashing v2 (gbhash(seed, id, 2)), fnv1a32(seed + id) and "
        "getBucketRanges/chooseVariation, from the growthbook package; regenerate with "
        "tests/segments/data/make_growthbook_vectors.py.",
        "hash_unit": [hash_vector(seed, unit) for seed, unit in pairs],
        "bucket_ranges": buckets,
    }
    # One vector per line, so a regenerated file diffs line by line.
    lines = ["{", f'"about": {json.dumps(vectors["about"])},']
    for key in ("hash_unit", "bucket_ranges"):
        rows = [json.dumps(v, ensure_ascii=False) for v in vectors[key]]
        lines += [f'"{key}": [', ",\n".join(rows), "]" + ("," if key == "hash_unit" else "")]
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
