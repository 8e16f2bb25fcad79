"""Experiment analysis: the SRM gate, corrections by role, guidance, bandit data by IPW."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from experiments.analysis import BanditStratum, MetricSpec, analyse, analyse_bandit
from experiments.stats import SampleStats, compare


def conv(n: int, conversions: int) -> SampleStats:
    return SampleStats(n=n, sum=conversions, sum_sq=conversions)


METRICS = [
    MetricSpec(key="signup", role="primary"),
    MetricSpec(key="clicks", role="secondary"),
    MetricSpec(key="shares", role="secondary"),
    MetricSpec(key="errors", role="guardrail", lower_is_better=True),
    MetricSpec(key="bounces", role="guardrail", lower_is_better=True),
]


def arm(n: int, signup: int, clicks: int, shares: int, errors: int, bounces: int) -> dict:
    return {
        "signup": conv(n, signup),
        "clicks": conv(n, clicks),
        "shares": conv(n, shares),
        "errors": conv(n, errors),
        "bounces": conv(n, bounces),
    }


def test_srm_hides_results() -> None:
    arms = {
        "control": arm(10_000, 1000, 3000, 500, 100, 4000),
        "b": arm(9_400, 1100, 2900, 480, 95, 3700),
    }
    result = analyse(
        arms=arms, metrics=METRICS, control="control", weights={"control": 0.5, "b": 0.5}
    )
    assert result.hidden
    assert result.guidance == "check_split"
    assert result.cells == ()
    assert result.winner is None
    assert "sample ratio mismatch" in result.explanation
    assert "10,000" in result.explanation


def test_srm_waits_for_a_minimum_count_and_checks_the_holdout() -> None:
    arms = {"control": arm(30, 3, 9, 2, 1, 10), "b": arm(12, 1, 4, 1, 0, 4)}
    early = analyse(
        arms=arms,
        metrics=METRICS,
        control="control",
        weights={"control": 0.5, "b": 0.5},
        srm_min_count=50,
    )
    assert early.srm.status == "too_few_units"
    assert not early.hidden
    # A holdout cell that leaked (10 % configured, 2 % observed) hides the results.
    leaked = analyse(
        arms={"control": arm(4500, 450, 0, 0, 0, 0), "b": arm(4500, 450, 0, 0, 0, 0)},
        metrics=[MetricSpec(key="signup", role="primary")],
        control="control",
        weights={"control": 0.45, "b": 0.45, "holdout": 0.1},
        units={"control": 4500, "b": 4500, "holdout": 180},
    )
    assert leaked.guidance == "check_split"


def test_corrections_match_statsmodels() -> None:
    rng = np.random.default_rng(8)
    n = 5000
    arms = {
        key: arm(
            n,
            int(rng.binomial(n, 0.1)),
            int(rng.binomial(n, 0.3 * lift)),
            int(rng.binomial(n, 0.05 * lift)),
            int(rng.binomial(n, 0.02)),
            int(rng.binomial(n, 0.4)),
        )
        for key, lift in [("control", 1.0), ("b", 1.15), ("c", 1.03), ("d", 1.0)]
    }
    result = analyse(
        arms=arms,
        metrics=METRICS,
        control="control",
        weights=dict.fromkeys(arms, 0.25),
        method="fixed",
        tuning=1e6,
    )
    by_role: dict[str, list] = {"secondary": [], "guardrail": [], "primary": []}
    for cell in result.cells:
        # The raw p-value is compare()'s.
        expected = compare(
            arms["control"][cell.metric], arms[cell.arm][cell.metric], method="fixed"
        )
        assert cell.p_value == pytest.approx(expected.p_value, rel=1e-12)
        by_role[cell.role].append(cell)
    assert len(by_role["secondary"]) == 6 and len(by_role["guardrail"]) == 6
    for role, method, name in (
        ("secondary", "fdr_bh", "benjamini_hochberg"),
        ("guardrail", "holm", "holm"),
    ):
        cells = by_role[role]
        reject, adjusted, _, _ = multipletests(
            [c.p_value for c in cells], alpha=0.05, method=method
        )
        assert [c.adjusted_p_value for c in cells] == pytest.approx(list(adjusted), rel=1e-12)
        assert [c.significant for c in cells] == [bool(r) for r in reject]
        assert {c.correction for c in cells} == {name}
    assert all(c.adjusted_p_value == c.p_value for c in by_role["primary"])
    assert any(c.significant for c in by_role["secondary"])  # b's +15 % clicks


def base(n: int = 20_000) -> dict:
    return arm(n, 2000, 6000, 1000, 200, 8000)


def test_ship_names_the_winner_and_the_method() -> None:
    arms = {"control": base(), "b": {**base(), "signup": conv(20_000, 2300)}, "c": base()}
    result = analyse(arms=arms, metrics=METRICS, control="control", weights=dict.fromkeys(arms, 1))
    assert result.guidance == "ship"
    assert result.winner == "b"
    assert "sequential test" in result.explanation
    assert "'b'" in result.explanation
    cell = result.cell("b", "signup")
    assert cell.significant and cell.better
    assert cell.chance_to_win > 0.99


def test_guardrail_harm_stops_even_with_a_winning_primary() -> None:
    arms = {
        "control": base(),
        "b": {**base(), "signup": conv(20_000, 2300), "errors": conv(20_000, 320)},
    }
    result = analyse(arms=arms, metrics=METRICS, control="control", weights=dict.fromkeys(arms, 1))
    assert result.guidance == "stop_for_harm"
    assert "'errors'" in result.explanation and "Holm" in result.explanation
    cell = result.cell("b", "errors")
    assert cell.better is False and cell.significant
    # Fewer errors is not harm.
    fewer = {**arms, "b": {**arms["b"], "errors": conv(20_000, 120)}}
    result = analyse(arms=fewer, metrics=METRICS, control="control", weights=dict.fromkeys(arms, 1))
    assert result.guidance == "ship"
    assert result.cell("b", "errors").better


def test_primary_harm_stops() -> None:
    arms = {"control": base(), "b": {**base(), "signup": conv(20_000, 1700)}}
    result = analyse(arms=arms, metrics=METRICS, control="control", weights=dict.fromkeys(arms, 1))
    assert result.guidance == "stop_for_harm"
    assert "primary metric 'signup'" in result.explanation


def test_keep_running_then_no_effect() -> None:
    arms = {"control": base(), "b": {**base(), "signup": conv(20_000, 2030)}}
    weights = dict.fromkeys(arms, 1)
    running = analyse(
        arms=arms, metrics=METRICS, control="control", weights=weights, tuning=100_000
    )
    assert running.guidance == "keep_running"
    assert "Keep running" in running.explanation
    reached = analyse(arms=arms, metrics=METRICS, control="control", weights=weights, tuning=40_000)
    assert reached.guidance == "no_effect"
    assert "planned sample" in reached.explanation
    narrow = analyse(
        arms=arms,
        metrics=METRICS,
        control="control",
        weights=weights,
        tuning=100_000,
        minimum_effect=0.2,
    )
    assert narrow.guidance == "no_effect"


def test_bayesian_method() -> None:
    arms = {"control": base(), "b": {**base(), "signup": conv(20_000, 2150)}}
    result = analyse(
        arms=arms,
        metrics=METRICS,
        control="control",
        weights=dict.fromkeys(arms, 1),
        method="bayesian",
    )
    cell = result.cell("b", "signup")
    assert cell.p_value is None and cell.adjusted_p_value is None
    assert cell.chance_to_win == pytest.approx(
        compare(arms["control"]["signup"], arms["b"]["signup"], method="bayesian").chance_to_win
    )
    assert cell.chance_to_win > 0.95
    assert result.guidance == "ship"
    assert "Bayesian" in result.explanation
    assert any("no multiple-comparison correction" in note for note in result.notes)


def test_cells_that_cannot_answer_carry_the_reason() -> None:
    arms = {
        "control": {**base(), "shares": conv(20_000, 0)},
        "b": {**base(), "shares": conv(20_000, 0)},
    }
    result = analyse(
        arms=arms, metrics=METRICS, control="control", weights=dict.fromkeys(arms, 1), tuning=1e6
    )
    cell = result.cell("b", "shares")
    assert cell.error and cell.effect is None
    assert result.guidance == "keep_running"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": [MetricSpec(key="signup", role="secondary")]}, "primary"),
        ({"control": "nobody"}, "control"),
        ({"method": "magic"}, "method"),
        ({"alpha": 1.5}, "alpha"),
        ({"weights": {"control": 1}}, "same cells"),
        ({"metrics": [*METRICS, MetricSpec(key="revenue", role="secondary")]}, "revenue"),
    ],
)
def test_bad_input_is_a_value_error(kwargs, message) -> None:
    arms = {"control": base(), "b": base()}
    call = {
        "arms": arms,
        "metrics": METRICS,
        "control": "control",
        "weights": dict.fromkeys(arms, 1),
    }
    with pytest.raises(ValueError, match=message):
        analyse(**{**call, **kwargs})
    with pytest.raises(ValueError, match="role"):
        MetricSpec(key="x", role="tertiary")


def bandit_strata(rng: np.random.Generator, *, lift: float) -> list[BanditStratum]:
    """Two arms over 4 batches; conversion rises over time while b's share grows."""
    strata = []
    for batch, (rate, share_b) in enumerate([(0.05, 0.5), (0.08, 0.7), (0.12, 0.85), (0.15, 0.9)]):
        n_b = int(rng.binomial(10_000, share_b))
        for key, n, p, r in (
            ("control", 10_000 - n_b, 1 - share_b, rate),
            ("b", n_b, share_b, rate * (1 + lift)),
        ):
            y = int(rng.binomial(n, r))
            strata.append(
                BanditStratum(arm=key, batch=batch, propensity=p, metrics={"signup": conv(n, y)})
            )
    return strata


def test_bandit_analysis_uses_ipw() -> None:
    metrics = [MetricSpec(key="signup", role="primary")]
    strata = bandit_strata(np.random.default_rng(5), lift=0.0)
    result = analyse_bandit(strata=strata, metrics=metrics, control="control", tuning=40_000)
    assert result.estimator == "hajek"
    assert not result.hidden and result.srm.status == "ok"
    cell = result.cell("b", "signup")
    assert cell.ci_low < 0 < cell.ci_high  # A/A: no effect found
    assert "inverse-propensity" in result.explanation
    # The plain comparison of pooled arms is fooled by the time trend.
    pooled = {
        key: conv(
            sum(s.metrics["signup"].n for s in strata if s.arm == key),
            int(sum(s.metrics["signup"].sum for s in strata if s.arm == key)),
        )
        for key in ("control", "b")
    }
    naive = compare(pooled["control"], pooled["b"], method="fixed")
    assert naive.ci_low > 0.1  # "b is 10 %+ better", which is false

    lifted = analyse_bandit(
        strata=bandit_strata(np.random.default_rng(6), lift=0.1),
        metrics=metrics,
        control="control",
        method="fixed",
    )
    assert lifted.cell("b", "signup").ci_low < 0.1 < lifted.cell("b", "signup").ci_high


def test_bandit_srm_against_the_logged_propensities() -> None:
    metrics = [MetricSpec(key="signup", role="primary")]
    strata = bandit_strata(np.random.default_rng(7), lift=0.0)
    # Logging lost a third of b's units in the last batch.
    broken = [
        BanditStratum(
            arm=s.arm,
            batch=s.batch,
            propensity=s.propensity,
            metrics={
                "signup": conv(
                    s.metrics["signup"].n * 2 // 3, int(s.metrics["signup"].sum) * 2 // 3
                )
            },
        )
        if (s.arm, s.batch) == ("b", 3)
        else s
        for s in strata
    ]
    assert (
        analyse_bandit(strata=broken, metrics=metrics, control="control").guidance == "check_split"
    )
    with pytest.raises(ValueError, match="every arm"):
        analyse_bandit(strata=strata[:-1], metrics=metrics, control="control")
    with pytest.raises(ValueError, match="sequential"):
        analyse_bandit(strata=strata, metrics=metrics, control="control", method="bayesian")
