"""Benjamini-Hochberg and Holm against statsmodels; families by metric role."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from experiments.stats import adjust_by_role, benjamini_hochberg, holm

rng = np.random.default_rng(5)
P_SETS = [
    [0.01, 0.04, 0.03, 0.005, 0.5],
    [0.02, 0.02, 0.02, 0.9],  # ties
    [0.049],
    list(np.concatenate([rng.uniform(0, 0.01, 5), rng.uniform(0, 1, 25)])),
    list(rng.uniform(0, 0.2, 12)),
]


@pytest.mark.parametrize("p_values", P_SETS)
@pytest.mark.parametrize(
    ("ours", "theirs"), [(benjamini_hochberg, "fdr_bh"), (holm, "holm")], ids=["bh", "holm"]
)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_matches_statsmodels(p_values, ours, theirs, alpha) -> None:
    reject, adjusted, _, _ = multipletests(p_values, alpha=alpha, method=theirs)
    result = ours(p_values, alpha=alpha)
    assert result.p_values == pytest.approx(list(adjusted), rel=1e-12)
    assert result.reject == tuple(bool(r) for r in reject)


def test_families_are_corrected_by_role() -> None:
    p_values = {
        ("revenue", "b"): 0.01,
        ("clicks", "b"): 0.01,
        ("clicks", "c"): 0.04,
        ("signups", "b"): 0.03,
        ("errors", "b"): 0.02,
        ("latency", "b"): 0.03,
    }
    roles = {
        key: {"revenue": "primary", "errors": "guardrail", "latency": "guardrail"}.get(
            key[0], "secondary"
        )
        for key in p_values
    }
    corrected = adjust_by_role(p_values, roles)

    assert corrected[("revenue", "b")].adjusted_p_value == 0.01
    assert corrected[("revenue", "b")].correction == "none"
    secondary = [("clicks", "b"), ("clicks", "c"), ("signups", "b")]
    expected = benjamini_hochberg([p_values[k] for k in secondary])
    assert [corrected[k].adjusted_p_value for k in secondary] == list(expected.p_values)
    assert {corrected[k].correction for k in secondary} == {"benjamini_hochberg"}
    assert corrected[("errors", "b")].adjusted_p_value == pytest.approx(0.04)
    assert corrected[("latency", "b")].adjusted_p_value == pytest.approx(0.04)
    assert corrected[("latency", "b")].reject
    assert corrected[("latency", "b")].p_value == 0.03


def test_missing_or_unknown_roles_are_rejected() -> None:
    with pytest.raises(ValueError, match="no role"):
        adjust_by_role({"a": 0.1}, {})
    with pytest.raises(ValueError, match="unknown role"):
        adjust_by_role({"a": 0.1}, {"a": "tertiary"})  # type: ignore[dict-item]


@pytest.mark.parametrize("p_values", [[1.2], [-0.1], [[0.1, 0.2]]])
def test_out_of_range_p_values_are_rejected(p_values) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm(p_values)
