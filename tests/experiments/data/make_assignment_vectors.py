"""Regenerate assignment_vectors.json from the `growthbook` package (the `bench` extra).

    python tests/experiments/data/make_assignment_vectors.py

GrowthBook's own experiment runner (hash version 2, weights, coverage, seed) decides
which variation each id gets; tests/experiments/test_assignment.py checks
experiments.assignment.assign against these answers without importing GrowthBook. Not a
test module: pytest only collects test_*.py.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from growthbook import Experiment, GrowthBook

OUT = Path(__file__).with_name("assignment_vectors.json")

# ASCII, Latin-1, Greek, CJK and astral code points (surrogate pairs in UTF-16).
ALPHABETS = [(0x20, 0x7E), (0xA0, 0xFF), (0x391, 0x3C9), (0x4E00, 0x4FFF), (0x1F600, 0x1F64F)]
SETUPS = [
    {"seed": "checkout-test", "weights": [0.5, 0.5], "coverage": 1.0},
    {"seed": "hero", "weights": [0.2, 0.3, 0.5], "coverage": 0.6},
    {"seed": "é-seed", "weights": [1, 1, 1], "coverage": 0.25},
    {"seed": "🌸", "weights": [0.9, 0.1], "coverage": 1.0},
]
FIXED_IDS = ["a", "user-42", "anon-7f3", "Ünïcödé", "日本語", "😀", "a😀b", "ß" * 50, "x" * 300]


def main() -> None:
    rng = random.Random(14)
    ids = list(FIXED_IDS)
    for _ in range(400):
        low, high = rng.choice(ALPHABETS)
        ids.append("".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 24))))
    vectors = []
    for setup in SETUPS:
        n = len(setup["weights"])
        total = sum(setup["weights"])
        for unit in ids:
            gb = GrowthBook(attributes={"id": unit})
            result = gb.run(
                Experiment(
                    key="oracle",
                    variations=list(range(n)),
                    weights=[w / total for w in setup["weights"]],
                    coverage=setup["coverage"],
                    seed=setup["seed"],
                    hashVersion=2,
                )
            )
            vectors.append(
                {**setup, "id": unit, "arm": result.variationId if result.inExperiment else None}
            )
    OUT.write_text(json.dumps(vectors, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {OUT}")


if __name__ == "__main__":
    main()
