"""Fitting, scoring and judging a predictive model. Pure: numpy, scipy and scikit-learn only.

The model is a standardized L2 logistic regression. Everything needed to score is plain JSON
(`Params`: the columns' means and scales, the coefficients and the intercept), so a stored
version never holds a pickle and scoring is recomputed here from those numbers.

Quality is judged on a held-out set: the ROC AUC of the model beside the AUC of a fixed
recency-frequency score (no learning: recent and frequent people first), and calibration
per decile of the predicted probability.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

REGULARIZATION_C = 1.0
CALIBRATION_BINS = 10


class Params(TypedDict):
    kind: str  # "logistic"
    features: list[str]
    means: list[float]
    scales: list[float]
    coefficients: list[float]  # on standardized columns
    intercept: float


class CalibrationBin(TypedDict):
    predicted: float  # mean predicted probability in the bin
    observed: float  # share of positives in the bin
    count: int


def fit(x: np.ndarray, y: np.ndarray, *, features: Sequence[str]) -> Params:
    """A logistic regression of y (0/1) on the standardized columns of x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=int)
    if x.ndim != 2 or x.shape[1] != len(features) or x.shape[0] != y.shape[0]:
        raise ValueError("x must be n x features and y of length n.")
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-12] = 1.0  # a constant column: no information, no division by zero
    z = (x - means) / scales
    model = LogisticRegression(C=REGULARIZATION_C, max_iter=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(z, y)
    return {
        "kind": "logistic",
        "features": list(features),
        "means": [float(v) for v in means],
        "scales": [float(v) for v in scales],
        "coefficients": [float(v) for v in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
    }


def predict(params: Params, x: np.ndarray) -> np.ndarray:
    """Probabilities from the JSON parameters alone."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(params["coefficients"]):
        raise ValueError("x has the wrong number of columns for these parameters.")
    z = (x - np.asarray(params["means"])) / np.asarray(params["scales"])
    logits = z @ np.asarray(params["coefficients"]) + params["intercept"]
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500)))


def auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC (Mann-Whitney, ties count half); None when only one class is present."""
    y = np.asarray(y, dtype=int)
    positives = int(y.sum())
    negatives = int(y.size - positives)
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype=float))
    rank_sum = float(ranks[y == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def calibration(
    y: np.ndarray, predicted: np.ndarray, *, bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Predicted vs observed per quantile bin of the prediction (deciles by default)."""
    y = np.asarray(y, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    order = np.argsort(predicted, kind="stable")
    out: list[CalibrationBin] = []
    for chunk in np.array_split(order, min(bins, max(len(order), 1))):
        if chunk.size == 0:
            continue
        out.append(
            {
                "predicted": round(float(predicted[chunk].mean()), 4),
                "observed": round(float(y[chunk].mean()), 4),
                "count": int(chunk.size),
            }
        )
    return out


def baseline_scores(
    x: np.ndarray, *, features: Sequence[str], recency: str, frequency: str, churn: bool
) -> np.ndarray:
    """The recency-frequency baseline: standardized -recency + frequency (the more recent and
    frequent, the likelier to act), negated for churn. Nothing is learned from labels."""
    x = np.asarray(x, dtype=float)
    columns = list(features)

    def standardized(name: str) -> np.ndarray:
        column = x[:, columns.index(name)]
        scale = column.std()
        return (column - column.mean()) / (scale if scale > 1e-12 else 1.0)

    score = standardized(frequency) - standardized(recency)
    return -score if churn else score
