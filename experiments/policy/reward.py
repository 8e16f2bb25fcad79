"""A per-arm reward model: the direct-method half of doubly robust estimates. Pure.

One shallow regression tree per arm predicts the reward from the features, fitted on the
decisions that showed that arm (no importance weights: it is a regression of y on x within
the arm). A doubly robust estimate stays unbiased when this model is wrong (the weighted
residuals correct it) and gains precision when it is close, so a simple model is enough.
An arm with too few decisions predicts its plain mean (or the overall mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.tree import DecisionTreeRegressor

from experiments.policy.logs import Logs


@dataclass(frozen=True)
class RewardModel:
    models: tuple[DecisionTreeRegressor | float, ...]  # per arm: a tree or a constant

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """(n, arms) predicted rewards."""
        out = np.empty((rows.shape[0], len(self.models)))
        for a, model in enumerate(self.models):
            out[:, a] = model if isinstance(model, float) else model.predict(rows)
        return np.clip(out, 0.0, 1.0)


def fit_reward_model(logs: Logs, *, max_depth: int = 5, min_leaf: int = 100) -> RewardModel:
    overall = float(logs.rewards.mean()) if len(logs) else 0.0
    models: list[DecisionTreeRegressor | float] = []
    for a in range(len(logs.arms)):
        mask = logs.actions == a
        if mask.sum() < 2 * min_leaf:
            models.append(float(logs.rewards[mask].mean()) if mask.any() else overall)
            continue
        tree = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=0)
        tree.fit(logs.rows[mask], logs.rewards[mask])
        models.append(tree)
    return RewardModel(tuple(models))


def cross_fitted_rewards(
    logs: Logs, *, folds: int = 2, seed: int = 0, max_depth: int = 5, min_leaf: int = 100
) -> np.ndarray:
    """(n, arms) predictions where each decision's come from a model fitted on the other
    folds, so a decision's own reward never informs its prediction (which keeps the doubly
    robust interval honest when the model overfits)."""
    if folds < 2:
        raise ValueError("cross-fitting needs at least 2 folds")
    fold = np.random.default_rng(seed).integers(0, folds, size=len(logs))
    out = np.empty((len(logs), len(logs.arms)))
    for f in range(folds):
        model = fit_reward_model(logs.subset(fold != f), max_depth=max_depth, min_leaf=min_leaf)
        out[fold == f] = model.predict(logs.rows[fold == f])
    return out
