"""Logged decisions as training and evaluation see them. Pure: no Django.

One decision per row: the encoded features the policy saw, the arm it showed (an index
into `arms`), the logged propensity of that arm, and the reward (the goal: 1.0 converted
within the attribution window, else 0.0; any value in [0, 1] works). `units` are the
visitor ids, used only to split the logs by a hash (train / held-out) so that a visitor's
decisions stay on one side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from segments.bucketing import hash_unit


@dataclass(frozen=True)
class Logs:
    arms: tuple[str, ...]
    rows: np.ndarray  # (n, columns) float, NaN = missing
    actions: np.ndarray  # (n,) int, index into arms
    propensities: np.ndarray  # (n,) float in (0, 1]
    rewards: np.ndarray  # (n,) float in [0, 1]
    units: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = self.actions.shape[0]
        if self.rows.ndim != 2 or self.rows.shape[0] != n:
            raise ValueError("rows must be a 2-d array with one row per decision")
        if self.propensities.shape != (n,) or self.rewards.shape != (n,):
            raise ValueError("actions, propensities and rewards must be 1-d of one length")
        if self.units is not None and len(self.units) != n:
            raise ValueError("one unit id per decision is needed")
        if n and not (self.actions.min() >= 0 and self.actions.max() < len(self.arms)):
            raise ValueError("every action must index an arm")
        p = self.propensities
        if not np.all(np.isfinite(p) & (p > 0) & (p <= 1)):
            raise ValueError("propensities must be in (0, 1]")
        r = self.rewards
        if not np.all(np.isfinite(r) & (r >= 0) & (r <= 1)):
            raise ValueError("rewards must be in [0, 1]")

    @classmethod
    def from_records(
        cls,
        *,
        arms: Sequence[str],
        rows: Sequence[Sequence[float]],
        actions: Sequence[str],
        propensities: Sequence[float],
        rewards: Sequence[float],
        units: Sequence[str] | None = None,
    ) -> Logs:
        """From per-decision lists, the arm as its key."""
        index = {arm: i for i, arm in enumerate(arms)}
        unknown = sorted({a for a in actions if a not in index})
        if unknown:
            raise ValueError(f"unknown arm(s) in the logs: {', '.join(map(str, unknown[:5]))}")
        return cls(
            arms=tuple(arms),
            rows=np.asarray(rows, dtype=float).reshape(len(actions), -1),
            actions=np.fromiter((index[a] for a in actions), dtype=int, count=len(actions)),
            propensities=np.asarray(propensities, dtype=float),
            rewards=np.asarray(rewards, dtype=float),
            units=tuple(units) if units is not None else None,
        )

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def subset(self, mask: Any) -> Logs:
        mask = np.asarray(mask)
        units = None
        if self.units is not None:
            picked = np.flatnonzero(mask) if mask.dtype == bool else mask
            units = tuple(self.units[i] for i in picked)
        return Logs(
            arms=self.arms,
            rows=self.rows[mask],
            actions=self.actions[mask],
            propensities=self.propensities[mask],
            rewards=self.rewards[mask],
            units=units,
        )

    def split(self, *, salt: str, held_out_share: float) -> tuple[Logs, Logs]:
        """(train, held-out) by a hash of the unit: the same visitor on one side only."""
        if not 0 < held_out_share < 1:
            raise ValueError("held_out_share must be in (0, 1)")
        if self.units is None:
            raise ValueError("splitting needs the unit ids")
        held = np.fromiter(
            (hash_unit(salt, u) < held_out_share for u in self.units), dtype=bool, count=len(self)
        )
        return self.subset(~held), self.subset(held)
