"""Behavioural clusters turned into criteria trees. Pure (numpy and scikit-learn, no Django).

1. k-means over standardized features, k chosen by silhouette over 2 to 6 on a sample;
2. per cluster, a shallow decision tree (depth ≤ 3) separating it from the rest, fitted on
   the features in their own units so thresholds read as days, visits and counts;
3. the leaf with the best F1 for the cluster becomes an `all` of conditions, thresholds
   rounded to readable values (whole days and counts, two significant digits for traits).

Each feature knows how to become a condition (`FeatureSpec.kind`): recency and tenure as
`visitor.last_seen` / `visitor.first_seen` relative dates, visits as `visitor.visit_count`,
an event's count in the window as an event node, a numeric trait as a `profile.*` number
condition.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

FeatureKind = Literal["recency", "tenure", "visits", "event", "trait"]
K_RANGE = range(2, 7)
SILHOUETTE_SAMPLE = 3000
MAX_DEPTH = 3


@dataclass(frozen=True)
class FeatureSpec:
    kind: FeatureKind
    name: str
    event: str = ""  # kind "event"
    path: str = ""  # kind "trait": profile.<name>
    window_days: int = 0  # kind "event"


@dataclass
class Bound:
    low: float | None = None  # x > low
    high: float | None = None  # x <= high


@dataclass(frozen=True)
class ClusterModel:
    k: int
    labels: np.ndarray
    silhouettes: dict[int, float]


def _kmeans(z: np.ndarray, k: int, seed: int, n_init: int) -> np.ndarray:
    with warnings.catch_warnings():
        # Fewer distinct points than k: sklearn warns, and the caller skips that k.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(z).labels_


def choose_and_fit(
    x: np.ndarray, *, ks: Sequence[int] = K_RANGE, seed: int = 0
) -> ClusterModel | None:
    """k-means on standardized columns. k is chosen by silhouette on a sample of at most
    `SILHOUETTE_SAMPLE` rows (k-means fitted on that sample), then the chosen k is fitted on
    every row."""
    n = x.shape[0]
    if n < 20 or x.shape[1] == 0:
        return None
    z = StandardScaler().fit_transform(x)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False))
    zs = z[sample]
    best: tuple[float, int] | None = None
    scores: dict[int, float] = {}
    # One thread: the numbers are small, and OpenMP threads fighting over shared cores
    # make k-means many times slower.
    with threadpool_limits(limits=1):
        for k in ks:
            if k >= len(sample):
                break
            labels = _kmeans(zs, k, seed, n_init=10)
            if len(set(labels.tolist())) < k:
                continue
            score = float(silhouette_score(zs, labels))
            scores[k] = round(score, 4)
            if best is None or score > best[0] + 1e-9:
                best = (score, k)
        if best is None:
            return None
        k = best[1]
        labels = _kmeans(z, k, seed, n_init=4) if len(sample) < n else _kmeans(z, k, seed, 10)
    return ClusterModel(k=k, labels=labels, silhouettes=scores)


def best_leaf_bounds(
    x: np.ndarray, member: np.ndarray, *, max_depth: int = MAX_DEPTH, seed: int = 0
) -> dict[int, Bound]:
    """Feature index → bounds of the decision-tree leaf that best separates `member`."""
    n = x.shape[0]
    tree = DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=max(5, n // 100),
        class_weight="balanced",
        random_state=seed,
    ).fit(x, member)
    leaves = tree.apply(x)
    positives = int(member.sum())
    best_leaf, best_f1 = -1, -1.0
    for leaf in np.unique(leaves):
        in_leaf = leaves == leaf
        tp = int((member & in_leaf).sum())
        fp = int(in_leaf.sum()) - tp
        f1 = 2 * tp / (2 * tp + fp + (positives - tp)) if tp else 0.0
        if f1 > best_f1:
            best_leaf, best_f1 = int(leaf), f1
    # Walk from the root to that leaf, collecting the splits.
    t = tree.tree_
    parents: dict[int, tuple[int, bool]] = {}
    for node in range(t.node_count):
        if t.children_left[node] != -1:
            parents[int(t.children_left[node])] = (node, True)
            parents[int(t.children_right[node])] = (node, False)
    bounds: dict[int, Bound] = {}
    node = best_leaf
    while node in parents:
        parent, left = parents[node]
        feature, threshold = int(t.feature[parent]), float(t.threshold[parent])
        b = bounds.setdefault(feature, Bound())
        if left:  # x <= threshold
            b.high = threshold if b.high is None else min(b.high, threshold)
        else:
            b.low = threshold if b.low is None else max(b.low, threshold)
        node = parent
    return bounds


def readable(value: float) -> float | int:
    """Two significant digits: 1234.5 → 1200, 0.0437 → 0.044, 37.2 → 37."""
    if value == 0 or not math.isfinite(value):
        return 0
    digits = 2 - math.floor(math.log10(abs(value))) - 1
    rounded = round(value, digits)
    return int(rounded) if float(rounded).is_integer() else rounded


def _days(value: float) -> int:
    return max(1, round(value))


def bounds_to_conditions(
    bounds: dict[int, Bound], specs: Sequence[FeatureSpec]
) -> list[dict[str, Any]]:
    """Criteria conditions for the bounds, in the order of the features."""
    out: list[dict[str, Any]] = []
    for index in sorted(bounds):
        spec, b = specs[index], bounds[index]
        if spec.kind in ("recency", "tenure"):
            field = "visitor.last_seen" if spec.kind == "recency" else "visitor.first_seen"
            # days-since ≤ high: the date lies within the last `high` days.
            if b.high is not None:
                out.append({"field": field, "op": "within_last", "value": {"days": _days(b.high)}})
            if b.low is not None:
                out.append({"field": field, "op": "more_than_ago", "value": {"days": _days(b.low)}})
        elif spec.kind in ("visits", "event"):
            # Whole counts: x > 2.5 → x ≥ 3, x ≤ 2.5 → x ≤ 2.
            lo = math.floor(b.low) + 1 if b.low is not None else None
            hi = math.floor(b.high) if b.high is not None else None
            if lo is not None and lo <= 0:
                lo = None
            if spec.kind == "visits":
                if lo is not None and hi is not None:
                    out.append({"field": "visitor.visit_count", "op": "between", "value": [lo, hi]})
                elif lo is not None:
                    out.append({"field": "visitor.visit_count", "op": "gte", "value": lo})
                elif hi is not None:
                    out.append({"field": "visitor.visit_count", "op": "lte", "value": hi})
                continue
            if lo is not None and hi is not None:
                count = {"op": "between", "value": [lo, hi]}
            elif lo is not None:
                count = {"op": "gte", "value": lo}
            elif hi is not None:
                count = {"op": "eq", "value": 0} if hi <= 0 else {"op": "lte", "value": hi}
            else:
                continue
            out.append({"event": spec.event, "count": count, "within_days": spec.window_days})
        else:
            if b.low is not None:
                out.append({"field": spec.path, "op": "gt", "value": readable(b.low)})
            if b.high is not None:
                out.append({"field": spec.path, "op": "lte", "value": readable(b.high)})
    return out


def cluster_facts(
    x: np.ndarray,
    member: np.ndarray,
    specs: Sequence[FeatureSpec],
    *,
    categorical: dict[str, Sequence[str | None]] | None = None,
    limit: int = 3,
) -> list[dict[str, Any]]:
    """How the members differ from everyone: the features whose mean moved most (in
    standard deviations), then any category most members share ("mostly mobile")."""
    facts: list[tuple[float, dict[str, Any]]] = []
    overall, std = x.mean(axis=0), x.std(axis=0)
    mine = x[member].mean(axis=0) if member.any() else overall
    for i, spec in enumerate(specs):
        if std[i] <= 0:
            continue
        shift = float((mine[i] - overall[i]) / std[i])
        if abs(shift) < 0.3:
            continue
        facts.append(
            (
                abs(shift),
                {
                    "kind": spec.kind,
                    "feature": spec.name,
                    "event": spec.event,
                    "path": spec.path,
                    "cluster": round(float(mine[i]), 3),
                    "overall": round(float(overall[i]), 3),
                },
            )
        )
    facts.sort(key=lambda item: -item[0])
    out = [f for _, f in facts[:limit]]
    for path, values in (categorical or {}).items():
        chosen = [v for v, m in zip(values, member.tolist(), strict=True) if m and v]
        if not chosen:
            continue
        value, count = Counter(chosen).most_common(1)[0]
        share = count / int(member.sum())
        everyone = sum(1 for v in values if v == value) / max(1, len(values))
        if share >= 0.6 and share >= everyone + 0.1:
            out.append(
                {
                    "kind": "mostly",
                    "path": path,
                    "value": value,
                    "cluster": round(share, 3),
                    "overall": round(everyone, 3),
                }
            )
    return out
