"""The optimization report's figures. Pure: no Django.

Three goal rates, overall, per period and cumulatively, each with a 95 % interval:

- **the policy**: the mean reward of the decisions the model made (holdout=False), each
  decision counted once; a Wilson interval.
- **the random holdout**: the same for the holdout's decisions (a uniformly random arm);
  a Wilson interval.
- **the best single variant**: what an A/B test would ship. Every arm's value is estimated
  off-policy from *all* logged decisions (SNIPS, `ope.estimate` with the target "always this
  arm": a one-hot target matrix, so the estimate is the arm's inverse-propensity weighted
  mean reward over the decisions that showed it); the arm with the highest overall value is
  the best single variant, and its interval is the estimator's.

And the policy's lift over each: over the holdout, the difference of two independent means
(normal interval); over the best single variant, a paired difference on the same logs
(`ope.difference`): the policy's mean is written as a SNIPS estimate whose weight is 1 on
its own decisions and 0 on the holdout's, so both estimates have an influence on every
logged decision and their difference's variance counts the decisions they share.

`describe_leaves` turns a compiled policy's leaves into sentences ("device type is mobile
and local hour is at least 18") from the encoder's columns, with each leaf's training
decisions, arm probabilities, estimated rates and P(best) (from `CompiledPolicy.metadata`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from statistics import NormalDist
from typing import Any

import numpy as np

from experiments.policy.compiled import CompiledPolicy
from experiments.policy.features import OTHER, Feature
from experiments.policy.logs import Logs
from experiments.policy.ope import PolicyEstimate, difference, estimate

# Fewer distinct days than this: the periods are equal buckets of decisions instead.
MIN_DAYS = 4
BUCKETS = 8
MAY_BE_UNKNOWN = ("number", "flag", "recency")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class ReportDecision:
    """One logged decision as the report reads it (its reward final or not, as the caller
    chose)."""

    decided_at: datetime
    arm: str
    propensity: float
    holdout: bool
    reward: float


@dataclass(frozen=True, slots=True)
class Rate:
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # decisions behind it (for an arm's estimate: all logged decisions read)


@dataclass(frozen=True, slots=True)
class Lift:
    value: float  # policy - other, in goal-rate units
    ci_low: float
    ci_high: float

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True, slots=True)
class Summary:
    policy: Rate
    holdout: Rate
    best: Rate  # the best single variant's estimate (the arm fixed on all the logs)
    lift_over_holdout: Lift | None
    lift_over_best: Lift | None


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # an ISO day, or "decisions 1-500" for a bucket
    start: datetime  # first decision of the period
    end: datetime  # last decision of the period
    decisions: int
    period: Summary  # this period's decisions only
    cumulative: Summary  # every decision up to the end of this period


@dataclass(frozen=True)
class PolicyReport:
    arms: tuple[str, ...]
    decisions: int
    alpha: float
    best_arm: str | None
    arm_values: dict[str, Rate]  # every arm's off-policy value on all the logs
    overall: Summary
    periods: list[Period] = field(default_factory=list)
    by_day: bool = True


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def wilson(successes: float, n: int, *, alpha: float = 0.05) -> tuple[float, float] | None:
    """The Wilson score interval of a rate (successes may be fractional rewards)."""
    if n <= 0:
        return None
    z = _z(alpha)
    p = min(max(successes / n, 0.0), 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_rate(rewards: np.ndarray, *, alpha: float = 0.05) -> Rate:
    n = int(rewards.shape[0])
    if not n:
        return Rate(None, None, None, 0)
    interval = wilson(float(rewards.sum()), n, alpha=alpha)
    assert interval is not None
    return Rate(float(rewards.mean()), interval[0], interval[1], n)


def _logs(decisions: Sequence[ReportDecision], arms: Sequence[str]) -> Logs:
    index = {arm: i for i, arm in enumerate(arms)}
    n = len(decisions)
    return Logs(
        arms=tuple(arms),
        rows=np.zeros((n, 0)),  # the report's targets do not read features
        actions=np.fromiter((index[d.arm] for d in decisions), dtype=int, count=n),
        propensities=np.fromiter((d.propensity for d in decisions), dtype=float, count=n),
        rewards=np.fromiter((d.reward for d in decisions), dtype=float, count=n),
    )


def arm_estimate(logs: Logs, arm: int, *, alpha: float = 0.05) -> PolicyEstimate | None:
    """SNIPS estimate of "always show `arm`" (None: the arm was never shown, or < 2 logs)."""
    if len(logs) < 2 or not (logs.actions == arm).any():
        return None
    target = np.zeros((len(logs), len(logs.arms)))
    target[:, arm] = 1.0
    return estimate(target, logs, estimator="snips", alpha=alpha)


def own_decisions_estimate(
    logs: Logs, mine: np.ndarray, *, alpha: float = 0.05
) -> PolicyEstimate | None:
    """The mean reward of the decisions in `mine`, as a SNIPS estimate over all the logs
    (weight 1 on them, 0 elsewhere): the same value, with an influence on every decision,
    so that `ope.difference` pairs it with another estimate on the same logs."""
    if len(logs) < 2 or not mine.any():
        return None
    target = np.zeros((len(logs), len(logs.arms)))
    idx = np.arange(len(logs))
    target[idx, logs.actions] = np.where(mine, logs.propensities, 0.0)
    return estimate(target, logs, estimator="snips", alpha=alpha)


def _rate(e: PolicyEstimate | None, n: int) -> Rate:
    if e is None:
        return Rate(None, None, None, n)
    return Rate(e.value, e.ci_low, e.ci_high, n)


def independent_lift(a: np.ndarray, b: np.ndarray, *, alpha: float = 0.05) -> Lift | None:
    """mean(a) - mean(b) with a normal interval (two independent samples)."""
    if a.shape[0] < 2 or b.shape[0] < 2:
        return None
    value = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / a.shape[0] + b.var(ddof=1) / b.shape[0])
    z = _z(alpha)
    return Lift(value, value - z * se, value + z * se)


def summarise(logs: Logs, holdout: np.ndarray, best_arm: int | None, *, alpha: float) -> Summary:
    """The three rates and both lifts on these logs, the best single variant fixed."""
    policy_rewards = logs.rewards[~holdout]
    holdout_rewards = logs.rewards[holdout]
    best = arm_estimate(logs, best_arm, alpha=alpha) if best_arm is not None else None
    lift_best = None
    if best is not None:
        mine = own_decisions_estimate(logs, ~holdout, alpha=alpha)
        if mine is not None:
            d = difference(mine, best)
            lift_best = Lift(d.value, d.ci_low, d.ci_high)
    return Summary(
        policy=mean_rate(policy_rewards, alpha=alpha),
        holdout=mean_rate(holdout_rewards, alpha=alpha),
        best=_rate(best, len(logs)),
        lift_over_holdout=independent_lift(policy_rewards, holdout_rewards, alpha=alpha),
        lift_over_best=lift_best,
    )


def period_keys(
    decisions: Sequence[ReportDecision],
    *,
    tz: tzinfo | None = None,
    min_days: int = MIN_DAYS,
    buckets: int = BUCKETS,
) -> tuple[list[str], bool]:
    """Each decision's period label, and whether the periods are days (in `tz`): days when
    the decisions span at least `min_days` of them, else up to `buckets` equal runs of
    decisions in time order."""

    def day(d: ReportDecision) -> date:
        return (d.decided_at.astimezone(tz) if tz else d.decided_at).date()

    days = [day(d) for d in decisions]
    if len(set(days)) >= min_days:
        return [d.isoformat() for d in days], True
    n = len(decisions)
    size = max(1, math.ceil(n / max(1, buckets)))
    labels = []
    for i in range(n):
        first = (i // size) * size
        labels.append(f"decisions {first + 1}-{min(first + size, n)}")
    return labels, False


def policy_report(
    decisions: Sequence[ReportDecision],
    *,
    arms: Sequence[str],
    alpha: float = 0.05,
    tz: tzinfo | None = None,
    min_days: int = MIN_DAYS,
    buckets: int = BUCKETS,
) -> PolicyReport:
    """The report of logged decisions in time order (see the module doc). `arms`: every
    arm that may appear (an arm no longer eligible still counts if it was shown)."""
    arms = tuple(arms) + tuple(sorted({d.arm for d in decisions} - set(arms)))
    decisions = sorted(decisions, key=lambda d: d.decided_at)
    logs = _logs(decisions, arms)
    holdout = np.fromiter((d.holdout for d in decisions), dtype=bool, count=len(decisions))
    values = {a: _rate(arm_estimate(logs, i, alpha=alpha), len(logs)) for i, a in enumerate(arms)}
    known = [(v.value, -i) for i, v in enumerate(values.values()) if v.value is not None]
    best_index = -max(known)[1] if known else None
    overall = summarise(logs, holdout, best_index, alpha=alpha)
    labels, by_day = period_keys(decisions, tz=tz, min_days=min_days, buckets=buckets)
    periods: list[Period] = []
    start = 0
    while start < len(decisions):
        end = start
        while end < len(decisions) and labels[end] == labels[start]:
            end += 1
        part = np.arange(start, end)
        prefix = np.arange(0, end)
        periods.append(
            Period(
                label=labels[start],
                start=decisions[start].decided_at,
                end=decisions[end - 1].decided_at,
                decisions=end - start,
                period=summarise(logs.subset(part), holdout[part], best_index, alpha=alpha),
                cumulative=summarise(logs.subset(prefix), holdout[prefix], best_index, alpha=alpha),
            )
        )
        start = end
    return PolicyReport(
        arms=arms,
        decisions=len(decisions),
        alpha=alpha,
        best_arm=arms[best_index] if best_index is not None else None,
        arm_values=values,
        overall=overall,
        periods=periods,
        by_day=by_day,
    )


# --- which variant each kind of visitor gets ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArmShare:
    arm: str
    name: str
    probability: float
    rate: float | None  # the leaf's inverse-propensity rate of the arm at training
    probability_best: float | None


@dataclass(frozen=True, slots=True)
class LeafDescription:
    leaf: int
    conditions: tuple[str, ...]  # each a clause; empty: every visitor
    sentence: str
    decisions: int | None  # training decisions that fell in the leaf
    arms: tuple[ArmShare, ...]  # in the policy's arm order
    top_arm: str  # the arm with the highest probability


def _phrase(label: str) -> str:
    """A catalog label mid-sentence: lower-cased unless it starts with an acronym."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _default_label(path: str) -> str:
    return path.rsplit(".", 1)[-1].replace("_", " ")


def feature_label(
    feature: Feature,
    *,
    labels: Mapping[str, str] | None = None,
    segment_names: Mapping[str, str] | None = None,
) -> str:
    """How a feature is named in a sentence (catalog labels when given)."""
    labels = labels or {}
    if feature.kind == "segment":
        return (segment_names or {}).get(feature.segment, feature.segment)
    if feature.kind in ("hour", "weekday"):
        what = "hour" if feature.kind == "hour" else "day of the week"
        if feature.field == "context.local_time":
            return f"local {what}"
        return f"{what} of {_phrase(labels.get(feature.field) or _default_label(feature.field))}"
    if feature.kind == "recency":
        return f"days since the last {feature.event}" if feature.event else "days since last visit"
    if feature.kind == "frequency":
        if not feature.event:
            return "visits"
        days = f" in the last {feature.within_days} days" if feature.within_days else ""
        return f"{feature.event} events{days}"
    return _phrase(labels.get(feature.field) or _default_label(feature.field))


def _columns(policy: CompiledPolicy) -> list[tuple[Feature, str | None]]:
    """Per encoder column: its feature and, for a category column, its value."""
    out: list[tuple[Feature, str | None]] = []
    encoder = policy.encoder
    for feature, vocabulary in zip(encoder.features, encoder.vocabularies, strict=True):
        if feature.kind == "category":
            out += [(feature, v) for v in vocabulary]
            out.append((feature, OTHER))
        else:
            out.append((feature, None))
    return out


def _leaf_paths(policy: CompiledPolicy) -> dict[int, list[tuple[int, bool]]]:
    """Per leaf number: the (node, went left) steps from the root."""
    paths: dict[int, list[tuple[int, bool]]] = {}
    stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if policy.feature[node] < 0:
            paths[policy.leaf[node]] = path
            continue
        stack.append((policy.right[node], [*path, (node, False)]))
        stack.append((policy.left[node], [*path, (node, True)]))
    return paths


def _integer(feature: Feature, threshold: float) -> bool:
    """Whether the column holds whole numbers, so `x <= 17.5` reads "below 18"."""
    if feature.kind in ("hour", "weekday", "frequency"):
        return True
    return feature.kind == "number" and threshold - math.floor(threshold) == 0.5


def _num(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{x:,.0f}"


def _range_words(feature: Feature, low: float | None, high: float | None, whole: bool) -> str:
    """`low < x <= high` in words (None: unbounded)."""
    if feature.kind == "weekday":
        first = 0 if low is None else math.floor(low) + 1
        last = 6 if high is None else math.floor(high)
        first, last = max(first, 0), min(last, 6)
        if first == last:
            return f"is {WEEKDAYS[first]}"
        return f"is {WEEKDAYS[first]} to {WEEKDAYS[last]}"
    if whole:
        lo = None if low is None else math.floor(low) + 1  # the least whole value allowed
        hi = None if high is None else math.floor(high)  # the greatest
        if lo is not None and hi is not None:
            return f"is {lo}" if lo == hi else f"is between {lo} and {hi}"
        if lo is not None:
            return f"is at least {lo}"
        return f"is below {hi + 1}" if hi is not None else "is any value"
    if low is not None and high is not None:
        return f"is above {_num(low)} and at most {_num(high)}"
    if low is not None:
        return f"is above {_num(low)}"
    return f"is at most {_num(high)}" if high is not None else "is any value"


def _join(words: Sequence[str], last: str = "or") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def leaf_conditions(
    policy: CompiledPolicy,
    steps: Sequence[tuple[int, bool]],
    *,
    label: Callable[[Feature], str],
) -> list[str]:
    """The clauses of one root-to-leaf path, merged per feature: bounds of one number
    become one range, and "is mobile" makes "is not tablet" redundant."""
    columns = _columns(policy)
    order: list[str] = []  # feature names in the order the path first tests them
    positive: dict[str, list[str]] = {}
    negative: dict[str, list[str]] = {}
    known: dict[str, bool] = {}  # category: True "a known value", False "not a known one"
    bounds: dict[str, list[float | None]] = {}
    missing_ok: dict[str, bool] = {}
    whole: dict[str, bool] = {}
    features: dict[str, Feature] = {}
    for node, went_left in steps:
        feature, value = columns[policy.feature[node]]
        name = feature.name
        features[name] = feature
        if name not in order:
            order.append(name)
        threshold = policy.threshold[node]
        if feature.kind == "category":
            if value == OTHER:
                known[name] = went_left
            elif went_left:
                negative.setdefault(name, []).append(str(value))
            else:
                positive.setdefault(name, []).append(str(value))
        elif feature.kind in ("segment", "flag"):
            positive.setdefault(name, []).append("no" if went_left else "yes")
            if feature.kind == "flag":
                nan_here = policy.missing_left[node] == went_left
                missing_ok[name] = missing_ok.get(name, True) and nan_here
        else:
            low, high = bounds.setdefault(name, [None, None])
            if went_left:
                bounds[name][1] = threshold if high is None else min(high, threshold)
            else:
                bounds[name][0] = threshold if low is None else max(low, threshold)
            whole[name] = whole.get(name, True) and _integer(feature, threshold)
            nan_here = policy.missing_left[node] == went_left
            missing_ok[name] = missing_ok.get(name, True) and nan_here
    clauses: list[str] = []
    for name in order:
        feature = features[name]
        what = label(feature)
        # Where a visitor without the value goes is said for profile-like values only: the
        # hour or a count is always known, and "(or unknown)" there would only be noise.
        unknown = " (or unknown)" if missing_ok.get(name) and feature.kind in MAY_BE_UNKNOWN else ""
        if feature.kind == "segment":
            inside = positive[name][-1] == "yes"
            clauses.append(f"in segment {what}" if inside else f"not in segment {what}")
        elif feature.kind == "flag":
            yes = positive[name][-1] == "yes"
            clauses.append(f"{what} is {'true' if yes else 'false'}{unknown}")
        elif feature.kind == "category":
            if name in positive:
                clauses.append(f"{what} is {_join(positive[name], 'and')}")
                continue
            values = negative.get(name, [])
            if known.get(name) is False:  # outside the vocabulary: the negatives follow
                clauses.append(f"{what} is not one of the known values")
            elif known.get(name) and values:
                clauses.append(f"{what} is one of the known values other than {_join(values)}")
            elif known.get(name):
                clauses.append(f"{what} is one of the known values")
            elif len(values) == 1:
                clauses.append(f"{what} is not {values[0]}")
            else:
                clauses.append(f"{what} is not one of {_join(values)}")
        else:
            low, high = bounds[name]
            clauses.append(f"{what} {_range_words(feature, low, high, whole[name])}{unknown}")
    return clauses


def _sentence(clauses: Sequence[str]) -> str:
    if not clauses:
        return "Every visitor"
    text = " and ".join(clauses)
    return text[:1].upper() + text[1:]


def describe_leaves(
    policy: CompiledPolicy,
    *,
    labels: Mapping[str, str] | None = None,
    segment_names: Mapping[str, str] | None = None,
    arm_names: Mapping[str, str] | None = None,
) -> list[LeafDescription]:
    """Every leaf of the policy in plain words, in the tree's order (left to right).
    `labels`: field path -> catalog label; `segment_names`: key -> name; `arm_names`:
    arm key -> what to call it (the variant's name)."""
    arm_names = arm_names or {}
    meta: list[Mapping[str, Any]] = list(policy.metadata.get("leaves") or [])
    paths = _leaf_paths(policy)

    def label(feature: Feature) -> str:
        return feature_label(feature, labels=labels, segment_names=segment_names)

    out: list[LeafDescription] = []
    for leaf in paths:  # the walk's order: left before right
        clauses = leaf_conditions(policy, paths[leaf], label=label)
        info = meta[leaf] if leaf < len(meta) else {}
        rates = list(info.get("rates") or [])
        best = list(info.get("probability_best") or [])
        probabilities = policy.probabilities[leaf]
        shares = tuple(
            ArmShare(
                arm=arm,
                name=arm_names.get(arm, arm),
                probability=probabilities[i],
                rate=rates[i] if i < len(rates) else None,
                probability_best=best[i] if i < len(best) else None,
            )
            for i, arm in enumerate(policy.arms)
        )
        top = max(range(len(policy.arms)), key=lambda i: (probabilities[i], -i))
        decisions = info.get("decisions")
        out.append(
            LeafDescription(
                leaf=leaf,
                conditions=tuple(clauses),
                sentence=_sentence(clauses),
                decisions=int(decisions) if decisions is not None else None,
                arms=shares,
                top_arm=policy.arms[top],
            )
        )
    return out
