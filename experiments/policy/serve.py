"""Serving a compiled policy: a tree walk and one hash. Pure: no Django, no numpy.

    arm, probabilities = choose(policy, row, unit_id)

`row` is `policy.encoder.encode(doc, segments=..., now=...)`. The walk follows the node
tables to the visitor's leaf; the arm is the one whose cumulative range holds
`hash_unit(policy.seed, unit_id)` (GrowthBook v2, segments.bucketing). So:

- the same visitor in the same leaf always gets the same arm (repeat visits are stable,
  no state is stored), and over many visitors each arm's share is its probability;
- the seed belongs to the optimization, not to the model version: when a retrained model
  shifts a leaf's probabilities a little, only the visitors near a range boundary move.
- `probabilities` (the leaf's row) is what delivery logs: the logged propensity of the
  decision is `probabilities[arms.index(arm)]`.

The random-allocation holdout is decided here too (`decide`), from a separate hash of the
same unit, so a visitor stays in or out of it across visits and model versions: a holdout
visitor gets an arm uniformly at random (propensity 1/k) and the flag says so, which is
what the report compares the policy against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from experiments.policy.compiled import CompiledPolicy
from segments.bucketing import seeded_hash

HOLDOUT_SALT = ":holdout"
RANDOM_SALT = ":random"


@lru_cache(maxsize=4096)
def _hasher(seed: str) -> Callable[[str], float]:
    """`hash_unit(seed, ·)` with the seed's state computed once per seed (and process)."""
    return seeded_hash(seed)


def leaf_of(policy: CompiledPolicy, row: tuple[float, ...] | list[float]) -> int:
    """The leaf number of `row`: the walk of the compiled tree."""
    feature, threshold = policy.feature, policy.threshold
    left, right, missing_left = policy.left, policy.right, policy.missing_left
    node = 0
    column = feature[0]
    while column >= 0:
        x = row[column]
        if x == x:  # not NaN
            node = left[node] if x <= threshold[node] else right[node]
        else:
            node = left[node] if missing_left[node] else right[node]
        column = feature[node]
    return policy.leaf[node]


def draw(cumulative: tuple[float, ...], n: float) -> int:
    """Index of the first cumulative bound above `n` in [0, 1)."""
    for i, bound in enumerate(cumulative):
        if n < bound:
            return i
    return len(cumulative) - 1


def choose(
    policy: CompiledPolicy, row: tuple[float, ...] | list[float], unit_id: str
) -> tuple[str, tuple[float, ...]]:
    """(arm, the leaf's probabilities over `policy.arms`) for this visitor."""
    leaf = leaf_of(policy, row)
    return (
        policy.arms[draw(policy.cumulative[leaf], _hasher(policy.seed)(unit_id))],
        policy.probabilities[leaf],
    )


@dataclass(frozen=True, slots=True)
class Decision:
    arm: str
    propensity: float  # P(this arm) under the mechanism that drew it: log it
    probabilities: tuple[float, ...]  # over policy.arms
    holdout: bool  # drawn uniformly at random for the holdout, not by the model
    leaf: int  # -1 for the holdout


def in_holdout(policy: CompiledPolicy, unit_id: str, holdout_share: float) -> bool:
    return _hasher(policy.seed + HOLDOUT_SALT)(unit_id) < holdout_share


def decide(
    policy: CompiledPolicy,
    row: tuple[float, ...] | list[float],
    unit_id: str,
    *,
    holdout_share: float = 0.1,
) -> Decision:
    """The holdout check, then the policy's draw. A holdout visitor's arm is uniform."""
    k = len(policy.arms)
    if holdout_share > 0 and in_holdout(policy, unit_id, holdout_share):
        index = min(int(_hasher(policy.seed + RANDOM_SALT)(unit_id) * k), k - 1)
        uniform = tuple([1 / k] * k)
        return Decision(
            arm=policy.arms[index],
            propensity=1 / k,
            probabilities=uniform,
            holdout=True,
            leaf=-1,
        )
    leaf = leaf_of(policy, row)
    probabilities = policy.probabilities[leaf]
    index = draw(policy.cumulative[leaf], _hasher(policy.seed)(unit_id))
    return Decision(
        arm=policy.arms[index],
        propensity=probabilities[index],
        probabilities=probabilities,
        holdout=False,
        leaf=leaf,
    )
