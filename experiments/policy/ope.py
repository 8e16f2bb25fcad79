"""Off-policy evaluation and the promotion gate. Pure: no Django.

What would a target policy's goal rate have been, estimated from decisions logged under
other policies? With n logged decisions (x_i, a_i, logged propensity π_i, reward y_i), the
target's probability e_i = π_e(a_i | x_i) of the logged arm, and the importance weight
w_i = e_i / π_i:

- **IPS** (inverse propensity scoring): V = (1/n) Σ w_i·y_i. Unbiased; variance grows with
  the weights.
- **SNIPS** (self-normalised): V = Σ w_i·y_i / Σ w_i. Slightly biased in small samples,
  usually much less variable, and unchanged if every π is off by one factor.
- **DR** (doubly robust, Dudík et al. 2011): with a reward model μ̂(x, a),
  Γ_i = Σ_a π_e(a|x_i)·μ̂(x_i, a) + w_i·(y_i - μ̂(x_i, a_i)), V = (1/n) Σ Γ_i. Unbiased
  when the propensities are right whatever the model; the model only reduces variance.

Intervals are normal with sandwich (influence-function) variances Σψ_i²/(n(n-1)):
IPS ψ_i = w_i·y_i - V; SNIPS ψ_i = w_i·(y_i - V)/w̄; DR ψ_i = Γ_i - V. Two policies
evaluated on the same logs share the decisions, so their difference takes the difference
of the influences (a paired comparison: much tighter than two separate intervals).

The stochastic target: serving draws an arm from the leaf's probabilities by a hash of
the visitor id, which is uniform over visitors, so the target's value is that of the
randomised policy π_e(a|x) = the leaf's probability of a; that is what is estimated.

**The gate** (`promote`): a candidate model goes live only if, on held-out logs (decisions
its training never saw), its estimate beats the live one's (doubly robust by default),
by one of two documented rules on the 1 - alpha interval of (candidate - live):

- `"superior"` (the default): the interval's lower bound is above `margin` (0: the
  candidate must be shown better, not just look better). Strict: a refinement of an
  already good model rarely clears it on a few thousand held-out decisions, so models
  improve in steps.
- `"not_worse"`: the difference is positive *and* its lower bound is above `-margin`
  (`margin` > 0, in goal-rate units, e.g. 0.005): the candidate looks better and is not
  shown worse by more than the margin. Lets steady refinements through while still
  refusing any candidate that looks worse, or that could be much worse.

Otherwise the live model stays; both estimates are kept with the candidate as its
quality figures either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np

from experiments.policy.compiled import CompiledPolicy
from experiments.policy.logs import Logs
from experiments.policy.reward import cross_fitted_rewards
from experiments.policy.serve import leaf_of

Estimator = Literal["ips", "snips", "dr"]
GateRule = Literal["superior", "not_worse"]
ESTIMATORS: tuple[Estimator, ...] = ("ips", "snips", "dr")


@dataclass(frozen=True)
class PolicyEstimate:
    estimator: Estimator
    value: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    alpha: float
    influence: np.ndarray = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "estimator": self.estimator,
            "value": self.value,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "alpha": self.alpha,
        }


def target_probabilities(policy: CompiledPolicy, logs: Logs) -> np.ndarray:
    """(n, arms in the logs' order): the policy's probability of each arm per decision."""
    missing = set(logs.arms) - set(policy.arms)
    if missing:
        raise ValueError(f"the policy has no probability for arm(s) {sorted(missing)}")
    order = [policy.arms.index(a) for a in logs.arms]
    table = np.asarray(policy.probabilities)[:, order]
    leaves = np.fromiter(
        (leaf_of(policy, row) for row in logs.rows.tolist()), dtype=int, count=len(logs)
    )
    return table[leaves]


def _check(target: np.ndarray, logs: Logs) -> None:
    if target.shape != (len(logs), len(logs.arms)):
        raise ValueError("target probabilities must be (decisions, arms)")
    if len(logs) < 2:
        raise ValueError("at least 2 logged decisions are needed")


def _finish(
    estimator: Estimator, value: float, influence: np.ndarray, alpha: float
) -> PolicyEstimate:
    n = influence.shape[0]
    se = float(np.sqrt((influence**2).sum() / (n * (n - 1))))
    z = NormalDist().inv_cdf(1 - alpha / 2)
    return PolicyEstimate(
        estimator=estimator,
        value=float(value),
        std_error=se,
        ci_low=float(value - z * se),
        ci_high=float(value + z * se),
        n=n,
        alpha=alpha,
        influence=influence,
    )


def estimate(
    target: np.ndarray,
    logs: Logs,
    *,
    estimator: Estimator = "dr",
    reward_predictions: np.ndarray | None = None,
    alpha: float = 0.05,
) -> PolicyEstimate:
    """The target's value from the logs. `target`: (n, arms) probabilities (see
    target_probabilities); `reward_predictions`: (n, arms) μ̂ for "dr" (default: a
    cross-fitted reward model on these logs)."""
    _check(target, logs)
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    idx = np.arange(len(logs))
    w = target[idx, logs.actions] / logs.propensities
    y = logs.rewards
    if estimator == "ips":
        terms = w * y
        value = terms.mean()
        return _finish("ips", value, terms - value, alpha)
    if estimator == "snips":
        w_bar = w.mean()
        if not w_bar > 0:
            raise ValueError("the target gives no probability to any logged decision")
        value = (w * y).sum() / w.sum()
        return _finish("snips", value, w * (y - value) / w_bar, alpha)
    if estimator == "dr":
        mu = reward_predictions if reward_predictions is not None else cross_fitted_rewards(logs)
        if mu.shape != target.shape:
            raise ValueError("reward predictions must be (decisions, arms)")
        terms = (target * mu).sum(axis=1) + w * (y - mu[idx, logs.actions])
        value = terms.mean()
        return _finish("dr", value, terms - value, alpha)
    raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")


@dataclass(frozen=True)
class Difference:
    estimator: Estimator
    value: float  # candidate - live
    std_error: float
    ci_low: float
    ci_high: float


def difference(a: PolicyEstimate, b: PolicyEstimate) -> Difference:
    """a - b from estimates on the same logs, with the paired (influence) variance."""
    if a.n != b.n or a.estimator != b.estimator:
        raise ValueError("a difference needs two estimates of one kind on the same logs")
    d = _finish(a.estimator, a.value - b.value, a.influence - b.influence, a.alpha)
    return Difference(d.estimator, d.value, d.std_error, d.ci_low, d.ci_high)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    candidate: PolicyEstimate
    live: PolicyEstimate
    difference: Difference

    def as_dict(self) -> dict[str, object]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "candidate": self.candidate.as_dict(),
            "live": self.live.as_dict(),
            "difference": {
                "value": self.difference.value,
                "std_error": self.difference.std_error,
                "ci_low": self.difference.ci_low,
                "ci_high": self.difference.ci_high,
            },
        }


def promote(
    candidate: CompiledPolicy,
    live: CompiledPolicy,
    logs: Logs,
    *,
    estimator: Estimator = "dr",
    reward_predictions: np.ndarray | None = None,
    alpha: float = 0.05,
    rule: GateRule = "superior",
    margin: float = 0.0,
) -> PromotionDecision:
    """The gate on held-out logs (see the module doc for the two rules)."""
    return promote_targets(
        target_probabilities(candidate, logs),
        target_probabilities(live, logs),
        logs,
        estimator=estimator,
        reward_predictions=reward_predictions,
        alpha=alpha,
        rule=rule,
        margin=margin,
    )


def promote_targets(
    candidate: np.ndarray,
    live: np.ndarray,
    logs: Logs,
    *,
    estimator: Estimator = "dr",
    reward_predictions: np.ndarray | None = None,
    alpha: float = 0.05,
    rule: GateRule = "superior",
    margin: float = 0.0,
) -> PromotionDecision:
    """`promote` from the two policies' (decisions x arms) probability matrices: for
    policies whose encoders differ (each model version has its own vocabularies), each
    matrix comes from the held-out decisions encoded with that policy's own encoder."""
    if rule not in ("superior", "not_worse"):
        raise ValueError(f"rule must be 'superior' or 'not_worse', got {rule!r}")
    if rule == "not_worse" and not margin > 0:
        raise ValueError("the not_worse rule needs a positive margin")
    if estimator == "dr" and reward_predictions is None:
        reward_predictions = cross_fitted_rewards(logs)
    cand = estimate(
        candidate,
        logs,
        estimator=estimator,
        reward_predictions=reward_predictions,
        alpha=alpha,
    )
    current = estimate(
        live,
        logs,
        estimator=estimator,
        reward_predictions=reward_predictions,
        alpha=alpha,
    )
    diff = difference(cand, current)
    interval = f"{diff.value:+.4f} ({diff.ci_low:+.4f} to {diff.ci_high:+.4f}, {estimator})"
    if rule == "superior":
        ok = diff.ci_low > margin
        reason = (
            f"candidate shown better than live by {interval}"
            if ok
            else f"not shown better: difference {interval}; the lower bound must clear "
            f"{margin:+.4f}"
        )
    else:
        ok = diff.value > 0 and diff.ci_low > -margin
        reason = (
            f"candidate better than live by {interval}, not worse by more than {margin:.4f}"
            if ok
            else f"not better or possibly worse: difference {interval}; it must be positive "
            f"with a lower bound above {-margin:+.4f}"
        )
    return PromotionDecision(
        promote=ok, reason=reason, candidate=cand, live=current, difference=diff
    )
