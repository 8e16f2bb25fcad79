"""SRM: χ² against scipy, and the gate that hides results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments.stats import srm_gate, srm_p_value
from experiments.stats.srm import srm_p_values


@pytest.mark.parametrize(
    ("counts", "weights"),
    [
        ([5100, 4900], [0.5, 0.5]),
        ([9050, 950], [90, 10]),
        ([480, 4700, 4820], [0.05, 0.475, 0.475]),  # holdout, control, treatment
        ([3, 7, 1, 12], [1, 1, 1, 1]),
    ],
)
def test_p_value_is_pearsons_chi_square(counts: list[int], weights: list[float]) -> None:
    shares = np.asarray(weights) / sum(weights)
    expected = stats.chisquare(counts, f_exp=shares * sum(counts))
    assert srm_p_value(counts, weights) == pytest.approx(expected.pvalue, rel=1e-9)


def test_many_experiments_at_once_match_one_by_one() -> None:
    counts = np.random.default_rng(3).multinomial(20_000, [0.5, 0.3, 0.2], size=50)
    batch = srm_p_values(counts, [5, 3, 2])
    assert batch == pytest.approx([srm_p_value(row, [5, 3, 2]) for row in counts], rel=1e-12)


def test_no_units_is_no_evidence() -> None:
    assert srm_p_value([0, 0], [1, 1]) == 1.0


def test_a_unit_in_a_zero_weight_cell_is_a_mismatch() -> None:
    assert srm_p_value([500, 500, 0], [1, 1, 0]) == pytest.approx(
        stats.chisquare([500, 500]).pvalue
    )
    assert srm_p_value([500, 500, 1], [1, 1, 0]) == 0.0
    check = srm_gate([5, 5, 1], [1, 1, 0], min_count=100)
    assert check.status == "mismatch" and check.hide_results


def test_gate_hides_results_while_the_split_is_broken() -> None:
    check = srm_gate([5300, 4700], [0.5, 0.5], min_count=100)
    assert check.status == "mismatch"
    assert check.hide_results
    assert check.p_value is not None and check.p_value < 0.001
    assert check.expected == (5000.0, 5000.0)


def test_gate_passes_a_healthy_uneven_split() -> None:
    check = srm_gate([9040, 960], [0.9, 0.1], min_count=100)
    assert check.status == "ok" and not check.hide_results


def test_gate_waits_for_the_smallest_arm_to_expect_min_count() -> None:
    # 1,000 units on 95/5: the small arm expects 50, fewer than 100.
    early = srm_gate([990, 10], [0.95, 0.05], min_count=100)
    assert early.status == "too_few_units" and early.p_value is None and not early.hide_results
    later = srm_gate([3000, 0], [0.5, 0.5], min_count=100)
    assert later.status == "mismatch"


def test_threshold_is_configurable() -> None:
    counts = [5100, 4900]  # p ≈ 0.0455
    assert srm_gate(counts, [1, 1], min_count=10).status == "ok"
    assert srm_gate(counts, [1, 1], min_count=10, threshold=0.05).status == "mismatch"


@pytest.mark.parametrize(
    ("counts", "weights", "message"),
    [
        ([10], [1], "same length"),
        ([10, 20], [1, 1, 1], "same length"),
        ([10, -1], [1, 1], "non-negative"),
        ([10, 20], [0, 0], "not all zero"),
        ([10, 20], [1, -1], "not all zero"),
    ],
)
def test_bad_input_is_rejected(counts, weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        srm_p_value(counts, weights)


def test_gate_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="threshold"):
        srm_gate([1, 1], [1, 1], min_count=1, threshold=0)
    with pytest.raises(ValueError, match="min_count"):
        srm_gate([1, 1], [1, 1], min_count=-1)
