"""experiments.stats against GrowthBook's gbstats: frozen outputs of its test classes.

data/gbstats_vectors.json holds, per case, both arms' sufficient statistics and what
gbstats (version in the file) answered for the fixed-horizon t-test, the sequential
two-sided test at two tunings and two alphas, and the Bayesian effect test with a flat and
a proper prior, on the absolute and relative scales; and check_srm's p-values. Regenerate
with data/make_gbstats_vectors.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.stats import GaussianPrior, SampleStats, compare, srm_p_value

VECTORS = json.loads((Path(__file__).parent / "data" / "gbstats_vectors.json").read_text())
RTOL = 1e-6
# gbstats' prior in the vectors: N(0.01, 0.05²) on the relative lift.
PRIOR = GaussianPrior(mean=0.01, stddev=0.05)


RUNS = [
    pytest.param(case, key, expected, id=f"{case['name']}: {key}")
    for case in VECTORS["cases"]
    for key, expected in case["expected"].items()
]


def _compare(case: dict, key: str):
    parts = key.split("_")
    method, scale = parts[0], parts[1]
    kwargs: dict = {"relative": scale == "relative", "ratio": case["kind"] == "ratio"}
    if method == "sequential":
        kwargs |= {"method": "sequential", "tuning": float(parts[2]), "alpha": float(parts[3])}
    elif method == "bayesian":
        kwargs |= {"method": "bayesian", "prior": PRIOR if parts[2] == "prior" else None}
    else:
        kwargs |= {"method": "fixed"}
    return compare(SampleStats(**case["control"]), SampleStats(**case["treatment"]), **kwargs)


@pytest.mark.parametrize(("case", "key", "expected"), RUNS)
def test_matches_gbstats(case: dict, key: str, expected: dict) -> None:
    result = _compare(case, key)

    assert result.effect == pytest.approx(expected["effect"], rel=RTOL, abs=1e-12)
    assert result.ci_low == pytest.approx(expected["ci"][0], rel=RTOL, abs=1e-12)
    assert result.ci_high == pytest.approx(expected["ci"][1], rel=RTOL, abs=1e-12)
    if "p_value" in expected:
        assert result.p_value == pytest.approx(expected["p_value"], rel=RTOL, abs=1e-12)
        assert result.chance_to_win is None
    else:
        assert result.p_value is None
        assert result.chance_to_win == pytest.approx(expected["chance_to_win"], rel=RTOL)
        assert result.expected_loss == pytest.approx(
            expected["risk_treatment"], rel=RTOL, abs=1e-12
        )
        assert result.expected_loss_control == pytest.approx(
            expected["risk_control"], rel=RTOL, abs=1e-12
        )


@pytest.mark.parametrize(
    "case", [c for c in VECTORS["cases"] if c["kind"] == "cuped"], ids=lambda c: c["name"]
)
def test_cuped_theta_matches_gbstats_and_reduces_variance(case: dict) -> None:
    control, treatment = SampleStats(**case["control"]), SampleStats(**case["treatment"])

    adjusted = compare(control, treatment, method="fixed")
    plain = compare(control, treatment, method="fixed", cuped=False)

    assert adjusted.theta == pytest.approx(case["theta"], rel=RTOL)
    # The simulated pre-period explains most of the metric's variance.
    assert adjusted.variance_reduction is not None and adjusted.variance_reduction > 0.5
    assert adjusted.std_error**2 == pytest.approx(
        plain.std_error**2 * (1 - adjusted.variance_reduction), rel=1e-9
    )
    assert plain.theta is None and plain.variance_reduction is None


@pytest.mark.parametrize(
    "vector",
    VECTORS["srm"],
    ids=lambda v: f"{v['counts']} vs {[round(w, 3) for w in v['weights']]}",
)
def test_srm_matches_gbstats(vector: dict) -> None:
    assert srm_p_value(vector["counts"], vector["weights"]) == pytest.approx(
        vector["p_value"], rel=RTOL, abs=1e-15
    )


def test_vectors_name_their_reference() -> None:
    assert VECTORS["gbstats_version"] == "0.8.0"
    assert len(VECTORS["cases"]) >= 10
