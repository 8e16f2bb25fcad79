"""Training a contextual bandit policy from logged decisions. Pure: no Django.

    policy = train_policy(logs=logs, encoder=encoder, seed="opt-42", version="v3",
                          config=TrainConfig(max_depth=4, min_leaf=400, floor=0.05))

Two steps (docs/optimization.md):

1. **Where visitors differ: a shallow tree fitted on importance-weighted data.** The logs
   come from earlier policies (uniform at first), so every decision carries its logged
   propensity π. The tree is a classifier of the *arm shown* weighted by reward/π:
   outcome-weighted learning (Zhao et al., JASA 2012), the reduction of policy learning to
   weighted classification whose risk is the inverse-propensity estimate of the policy's
   value. (Decisions without a reward weigh 0 there, so `min_leaf` counts rewarded
   decisions.) A split is worth making when the arms that converted (corrected for how often
   each was shown) differ between its two sides; a split where every arm converts more
   alike (a richer region) changes nothing. `max_depth` and `min_leaf` keep it shallow, so each
   leaf has enough data for its own posterior and a few leaves describe themselves in plain words.
2. **What each leaf gets: Thompson sampling per leaf.** In each leaf, each arm's rate is
   estimated by inverse-propensity weighting (Hajek: Σy/π ÷ Σ1/π over the leaf's decisions
   that showed the arm) and its evidence counted as Kish's effective sample size
   (Σ1/π)²/Σ1/π², so decisions made at a small propensity count for less. That gives a
   Beta(1 + successes, 1 + trials - successes) posterior per arm, and the leaf's
   allocation is P(arm is best) under it (plain Thompson sampling, `beta` = 1; the
   top-two variant of experiments.bandit with `beta` < 1), with every arm raised to the
   `floor` (experiments.bandit.apply_floor). The floor keeps every propensity of the next
   logs at least `floor`, which bounds the importance weights of the next training and
   of the off-policy estimates.

The result is a `CompiledPolicy`: the tree as tuples, a probability row per leaf, and
metadata (training window, features, n, leaves, each leaf's data). Serving it needs no
scikit-learn (experiments.policy.serve).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from experiments.bandit import proportion_weights
from experiments.policy.compiled import CompiledPolicy, single_leaf_policy
from experiments.policy.features import FeatureEncoder
from experiments.policy.logs import Logs
from experiments.policy.reward import fit_reward_model

Splitter = Literal["reward_model", "outcome_weighted"]
Allocation = Literal["greedy", "thompson"]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    max_depth: int = 3
    # Decisions per leaf ("reward_model" splitter); rewarded decisions per leaf with the
    # "outcome_weighted" splitter, whose weighted fit sees only decisions with a reward.
    min_leaf: int = 200
    floor: float = 0.02  # every arm's least probability in every leaf
    splitter: Splitter = "reward_model"
    allocation: Allocation = "greedy"
    beta: float = 1.0  # Thompson: 1 = plain; < 1 = top-two (experiments.bandit)
    draws: int = 4_000  # Thompson: Monte Carlo posterior draws per leaf
    prior_a: float = 1.0
    prior_b: float = 1.0
    reward_depth: int = 6  # the per-arm reward trees of the "reward_model" splitter
    reward_min_leaf: int = 100

    def validate(self, arms: int) -> None:
        if isinstance(self.max_depth, bool) or not 0 <= self.max_depth <= 8:
            raise ValueError("max_depth must be an integer 0-8")
        if isinstance(self.min_leaf, bool) or self.min_leaf < 1:
            raise ValueError("min_leaf must be a positive integer")
        if not 0 <= self.floor <= 1 / arms:
            raise ValueError(f"floor must be in [0, 1/arms] = [0, {1 / arms:.4f}]")
        if self.splitter not in ("reward_model", "outcome_weighted"):
            raise ValueError("splitter must be 'reward_model' or 'outcome_weighted'")
        if self.allocation not in ("greedy", "thompson"):
            raise ValueError("allocation must be 'greedy' or 'thompson'")
        if not 0 < self.beta <= 1:
            raise ValueError("beta must be in (0, 1]")
        if self.draws < 100:
            raise ValueError("draws must be at least 100")


@dataclass(frozen=True, slots=True)
class TreeTables:
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    missing_left: tuple[bool, ...]
    leaf: tuple[int, ...]


def fit_tree(
    logs: Logs, *, max_depth: int, min_leaf: int, config: TrainConfig | None = None
) -> DecisionTreeClassifier | None:
    """The policy tree, or None when the logs hold too little to split on."""
    config = config or TrainConfig(max_depth=max_depth, min_leaf=min_leaf)
    if config.splitter == "outcome_weighted":
        return _outcome_weighted_tree(logs, max_depth=max_depth, min_leaf=min_leaf)
    return _reward_model_tree(logs, max_depth=max_depth, min_leaf=min_leaf, config=config)


def _outcome_weighted_tree(
    logs: Logs, *, max_depth: int, min_leaf: int
) -> DecisionTreeClassifier | None:
    weights = logs.rewards / logs.propensities
    if max_depth == 0 or not weights.sum() > 0 or (weights > 0).sum() < 2 * min_leaf:
        return None
    tree = DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=min_leaf,
        random_state=0,  # ties between equally good splits are broken reproducibly
    )
    tree.fit(logs.rows, logs.actions, sample_weight=weights)
    return tree


def _reward_model_tree(
    logs: Logs, *, max_depth: int, min_leaf: int, config: TrainConfig
) -> DecisionTreeClassifier | None:
    """Distil a per-arm reward model into a shallow tree: each decision is labelled with
    the arm the model predicts best for its visitor and weighted by the predicted cost of
    getting it wrong (best minus second best), so a split goes where the best arm changes
    and matters, and the reward model's noise where arms are alike weighs nothing."""
    if max_depth == 0 or len(logs) < 2 * min_leaf or not logs.rewards.sum() > 0:
        return None
    predicted = fit_reward_model(
        logs, max_depth=config.reward_depth, min_leaf=config.reward_min_leaf
    ).predict(logs.rows)
    ranked = np.sort(predicted, axis=1)
    regret = ranked[:, -1] - ranked[:, -2] if predicted.shape[1] > 1 else ranked[:, -1]
    if not (regret > 0).any():
        return None
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=0)
    tree.fit(logs.rows, predicted.argmax(axis=1), sample_weight=regret + 1e-12)
    return tree


def compile_tree(tree: DecisionTreeClassifier | None) -> TreeTables:
    """scikit-learn's node arrays as plain tuples, leaves numbered in node order."""
    if tree is None:
        return TreeTables((-1,), (0.0,), (-1,), (-1,), (False,), (0,))
    t = tree.tree_
    is_leaf = t.children_left == -1
    leaf_number = np.cumsum(is_leaf) - 1
    missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=bool))
    return TreeTables(
        feature=tuple(-1 if is_leaf[i] else int(t.feature[i]) for i in range(t.node_count)),
        threshold=tuple(0.0 if is_leaf[i] else float(t.threshold[i]) for i in range(t.node_count)),
        left=tuple(int(x) for x in t.children_left),
        right=tuple(int(x) for x in t.children_right),
        missing_left=tuple(bool(missing[i]) and not is_leaf[i] for i in range(t.node_count)),
        leaf=tuple(int(leaf_number[i]) if is_leaf[i] else -1 for i in range(t.node_count)),
    )


def leaf_indices(tables: TreeTables, rows: np.ndarray) -> np.ndarray:
    """Leaf number of every row, vectorised over the tables (as serve walks them)."""
    node = np.zeros(rows.shape[0], dtype=int)
    feature = np.asarray(tables.feature)
    threshold = np.asarray(tables.threshold)
    left, right = np.asarray(tables.left), np.asarray(tables.right)
    missing_left = np.asarray(tables.missing_left)
    for _ in range(len(tables.feature)):
        column = feature[node]
        active = column >= 0
        if not active.any():
            break
        idx = np.flatnonzero(active)
        x = rows[idx, column[idx]]
        go_left = np.where(np.isnan(x), missing_left[node[idx]], x <= threshold[node[idx]])
        node[idx] = np.where(go_left, left[node[idx]], right[node[idx]])
    return np.asarray(tables.leaf)[node]


def leaf_evidence(
    logs: Logs, leaves: np.ndarray, n_leaves: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (leaf, arm): (effective trials, effective successes, decisions)."""
    k = len(logs.arms)
    w = 1 / logs.propensities
    shape = (n_leaves, k)
    sw, sw2, swy, count = (np.zeros(shape) for _ in range(4))
    np.add.at(sw, (leaves, logs.actions), w)
    np.add.at(sw2, (leaves, logs.actions), w * w)
    np.add.at(swy, (leaves, logs.actions), w * logs.rewards)
    np.add.at(count, (leaves, logs.actions), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sw > 0, swy / sw, 0.0)
        trials = np.where(sw2 > 0, sw * sw / sw2, 0.0)
    return trials, mean * trials, count


def greedy_weights(
    trials: np.ndarray, successes: np.ndarray, *, floor: float, prior_a: float, prior_b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf: every arm at the floor, the rest to the arm with the best posterior mean,
    shared evenly between arms that tie (a leaf with no conversion yet stays uniform):
    exploitation with a guaranteed floor of exploration (epsilon-greedy with
    epsilon = floor * arms). Returns (probabilities, share of the best arm(s))."""
    mean = (successes + prior_a) / (trials + prior_a + prior_b)
    best = np.isclose(mean, mean.max(axis=1, keepdims=True), rtol=0.0, atol=1e-12)
    # No conversion yet: the means differ only by how often each arm was shown.
    best[successes.sum(axis=1) <= 0] = True
    chosen = best / best.sum(axis=1, keepdims=True)
    k = mean.shape[1]
    return np.full_like(mean, floor) + chosen * (1.0 - floor * k), chosen


def train_policy(
    *,
    logs: Logs,
    encoder: FeatureEncoder,
    seed: str,
    version: str,
    config: TrainConfig | None = None,
    rng_seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> CompiledPolicy:
    """Fit, compute each leaf's allocation, compile. `seed` is the serving hash seed (the
    optimization's, constant across versions); `rng_seed` seeds the Monte Carlo draws."""
    config = config or TrainConfig()
    k = len(logs.arms)
    config.validate(k)
    if logs.rows.shape[1] != len(encoder.columns):
        raise ValueError(
            f"the logs have {logs.rows.shape[1]} columns, the encoder {len(encoder.columns)}"
        )
    tree = fit_tree(logs, max_depth=config.max_depth, min_leaf=config.min_leaf, config=config)
    tables = compile_tree(tree)
    n_leaves = sum(1 for x in tables.leaf if x >= 0)
    leaves = leaf_indices(tables, logs.rows)
    trials, successes, count = leaf_evidence(logs, leaves, n_leaves)
    if config.allocation == "thompson":
        probabilities, p_best = proportion_weights(
            trials,
            successes,
            rng=np.random.default_rng(rng_seed),
            beta=config.beta,
            floor=config.floor,
            draws=config.draws,
            prior_a=config.prior_a,
            prior_b=config.prior_b,
        )
    else:
        probabilities, p_best = greedy_weights(
            trials, successes, floor=config.floor, prior_a=config.prior_a, prior_b=config.prior_b
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(trials > 0, successes / trials, np.nan)
    info: dict[str, Any] = {
        "decisions": len(logs),
        "rewards": float(logs.rewards.sum()),
        "features": [f.to_json() for f in encoder.features],
        "config": {
            "max_depth": config.max_depth,
            "min_leaf": config.min_leaf,
            "floor": config.floor,
            "splitter": config.splitter,
            "allocation": config.allocation,
            "beta": config.beta,
        },
        "leaves": [
            {
                "decisions": int(count[leaf].sum()),
                # IPW rate per arm in the leaf (None: the arm was never shown there)
                "rates": [None if np.isnan(r) else round(float(r), 6) for r in rates[leaf]],
                "probability_best": [round(float(p), 6) for p in p_best[leaf]],
            }
            for leaf in range(n_leaves)
        ],
        **dict(metadata or {}),
    }
    rows = tuple(tuple(float(p) for p in row) for row in probabilities)
    if tree is None:
        return single_leaf_policy(
            arms=logs.arms,
            encoder=encoder,
            seed=seed,
            version=version,
            probabilities=rows[0],
            metadata=info,
        )
    return CompiledPolicy(
        version=version,
        seed=seed,
        arms=logs.arms,
        encoder=encoder,
        feature=tables.feature,
        threshold=tables.threshold,
        left=tables.left,
        right=tables.right,
        missing_left=tables.missing_left,
        leaf=tables.leaf,
        probabilities=rows,
        floor=config.floor,
        metadata=info,
    )
