"""The compiled policy: plain tables that serving walks. Pure: no Django, no numpy.

A trained tree is flattened into parallel tuples indexed by node (scikit-learn's own
layout): `feature[node]` is the column tested (-1 at a leaf), a row goes left when
`row[feature] <= threshold[node]`, and a missing value (NaN) goes left when
`missing_left[node]`. `leaf[node]` numbers the leaves 0..L-1 (-1 for a split node), and
`probabilities[leaf]` is the leaf's allocation over `arms` (sums to 1, every arm at least
`floor`). `cumulative[leaf]` is the running sum of the same, precomputed for the draw.

Everything is a tuple of numbers or strings, so `to_json()` / `from_json()` round-trip
through the snapshot cache and the database unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from experiments.policy.features import FeatureEncoder


def cumulative_bounds(probabilities: Sequence[float]) -> tuple[float, ...]:
    """Running sums, the last forced to exactly 1.0 so every draw in [0, 1) lands."""
    total = 0.0
    bounds = []
    for p in probabilities:
        total += p
        bounds.append(total)
    bounds[-1] = 1.0
    return tuple(bounds)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    version: str  # this model version's label
    seed: str  # the optimization's hash seed: kept across versions so draws stay put
    arms: tuple[str, ...]  # variant keys, in the order of every probability tuple
    encoder: FeatureEncoder
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    missing_left: tuple[bool, ...]
    leaf: tuple[int, ...]
    probabilities: tuple[tuple[float, ...], ...]
    floor: float
    metadata: Mapping[str, Any] = field(default_factory=dict)  # window, n, quality, ...
    cumulative: tuple[tuple[float, ...], ...] = ()

    def __post_init__(self) -> None:
        nodes = len(self.feature)
        if not nodes or any(
            len(t) != nodes
            for t in (self.threshold, self.left, self.right, self.missing_left, self.leaf)
        ):
            raise ValueError("the node tables must be non-empty and of one length")
        leaves = sum(1 for x in self.leaf if x >= 0)
        if leaves != len(self.probabilities):
            raise ValueError("one probability row per leaf is needed")
        columns = len(self.encoder.columns)
        for node in range(nodes):
            if self.feature[node] >= 0:
                if self.feature[node] >= columns:
                    raise ValueError(f"node {node} tests column {self.feature[node]}")
                if not (node < self.left[node] < nodes and node < self.right[node] < nodes):
                    raise ValueError(f"node {node} has children out of order")
            elif self.leaf[node] < 0:
                raise ValueError(f"leaf node {node} has no leaf number")
        for row in self.probabilities:
            if len(row) != len(self.arms) or abs(sum(row) - 1) > 1e-6 or min(row) < 0:
                raise ValueError("every leaf's probabilities must cover the arms and sum to 1")
        if not self.cumulative:
            object.__setattr__(
                self, "cumulative", tuple(cumulative_bounds(p) for p in self.probabilities)
            )

    @property
    def leaves(self) -> int:
        return len(self.probabilities)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seed": self.seed,
            "arms": list(self.arms),
            "encoder": self.encoder.to_json(),
            "tree": {
                "feature": list(self.feature),
                "threshold": list(self.threshold),
                "left": list(self.left),
                "right": list(self.right),
                "missing_left": list(self.missing_left),
                "leaf": list(self.leaf),
            },
            "probabilities": [list(p) for p in self.probabilities],
            "floor": self.floor,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledPolicy:
        tree = data["tree"]
        return cls(
            version=str(data["version"]),
            seed=str(data["seed"]),
            arms=tuple(str(a) for a in data["arms"]),
            encoder=FeatureEncoder.from_json(data["encoder"]),
            feature=tuple(int(x) for x in tree["feature"]),
            threshold=tuple(float(x) for x in tree["threshold"]),
            left=tuple(int(x) for x in tree["left"]),
            right=tuple(int(x) for x in tree["right"]),
            missing_left=tuple(bool(x) for x in tree["missing_left"]),
            leaf=tuple(int(x) for x in tree["leaf"]),
            probabilities=tuple(tuple(float(p) for p in row) for row in data["probabilities"]),
            floor=float(data["floor"]),
            metadata=dict(data.get("metadata") or {}),
        )


def single_leaf_policy(
    *,
    arms: Sequence[str],
    encoder: FeatureEncoder,
    seed: str,
    version: str = "uniform",
    probabilities: Sequence[float] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> CompiledPolicy:
    """A policy without splits: the uniform start before any model is trained, or a
    fallback when the logs hold no reward yet."""
    k = len(arms)
    if k < 2:
        raise ValueError("a policy needs at least two arms")
    probs = tuple(probabilities) if probabilities is not None else tuple([1 / k] * k)
    return CompiledPolicy(
        version=version,
        seed=seed,
        arms=tuple(arms),
        encoder=encoder,
        feature=(-1,),
        threshold=(0.0,),
        left=(-1,),
        right=(-1,),
        missing_left=(False,),
        leaf=(0,),
        probabilities=(probs,),
        floor=min(probs),
        metadata=dict(metadata or {}),
    )
