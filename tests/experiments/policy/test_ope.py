"""Off-policy estimators against a simulation with known truth, and the promotion gate."""

import numpy as np
import pytest

from experiments.policy.compiled import single_leaf_policy
from experiments.policy.logs import Logs
from experiments.policy.ope import (
    difference,
    estimate,
    promote,
    target_probabilities,
)
from experiments.policy.train import TrainConfig, train_policy
from tests.experiments.policy.sim import ARMS, log_under, log_uniform, true_rates, visitors

SEEDS = 80


@pytest.fixture(scope="module")
def world():
    logs, _, encoder = log_uniform(np.random.default_rng(100), 30_000)
    good = train_policy(
        logs=logs, encoder=encoder, seed="t", version="good", config=TrainConfig(min_leaf=300)
    )
    # The logging policy: another model with a wide floor, so propensities vary by visitor.
    logger = train_policy(
        logs=logs.subset(np.arange(10_000)),
        encoder=encoder,
        seed="t",
        version="logger",
        config=TrainConfig(min_leaf=500, floor=0.1, max_depth=2),
    )
    uniform = single_leaf_policy(arms=ARMS, encoder=encoder, seed="t")
    bad = single_leaf_policy(
        arms=ARMS, encoder=encoder, seed="t", version="bad", probabilities=(0.1, 0.1, 0.1, 0.7)
    )
    # Truth: each policy's value over a large population (the rates are known).
    docs = visitors(np.random.default_rng(101), 60_000)
    rates = true_rates(docs)
    probe = Logs(
        arms=ARMS,
        rows=np.array([encoder.encode(d) for d in docs]),
        actions=np.zeros(len(docs), dtype=int),
        propensities=np.ones(len(docs)),
        rewards=np.zeros(len(docs)),
    )
    truth = {
        p.version: float((target_probabilities(p, probe) * rates).sum(axis=1).mean())
        for p in (good, uniform, bad, logger)
    }
    return {"good": good, "logger": logger, "uniform": uniform, "bad": bad, "truth": truth}


def test_the_truth_is_ordered_as_the_simulation_says(world):
    truth = world["truth"]
    assert truth["good"] > truth["uniform"] > truth["bad"]
    assert truth["good"] - truth["uniform"] > 0.015


@pytest.fixture(scope="module")
def replications(world):
    """SEEDS independent logs under the logging policy, with the good policy's targets."""
    result = []
    for seed in range(SEEDS):
        logs, _ = log_under(world["logger"], np.random.default_rng(seed), 5_000)
        result.append((logs, target_probabilities(world["good"], logs)))
    return result


@pytest.mark.parametrize("estimator", ["ips", "snips", "dr"])
def test_intervals_cover_the_true_value(world, replications, estimator):
    true_value = world["truth"]["good"]
    covered, errors = 0, []
    for logs, target in replications:
        result = estimate(target, logs, estimator=estimator)
        covered += result.ci_low <= true_value <= result.ci_high
        errors.append(result.value - true_value)
        assert result.ci_low < result.value < result.ci_high
    assert covered / SEEDS >= 0.875  # nominal 95 %; 70 of 80
    # Unbiased to within the simulation's noise: a standard error is about 0.008 at 5,000
    # decisions, so the mean of 80 errors has a standard error of about 0.0009.
    assert abs(np.mean(errors)) < 0.0025


def test_doubly_robust_is_tighter_than_ips_on_the_same_logs(world):
    logs, _ = log_under(world["logger"], np.random.default_rng(1), 6_000)
    target = target_probabilities(world["good"], logs)
    ips = estimate(target, logs, estimator="ips")
    dr = estimate(target, logs, estimator="dr")
    assert dr.std_error < ips.std_error


def test_the_difference_is_paired(world):
    logs, _ = log_under(world["logger"], np.random.default_rng(2), 6_000)
    a = estimate(target_probabilities(world["good"], logs), logs, estimator="snips")
    b = estimate(target_probabilities(world["good"], logs), logs, estimator="snips")
    same = difference(a, b)
    assert same.value == 0 and same.std_error == 0


def test_gate_promotes_a_truly_better_policy(world):
    for seed in range(5):
        logs, _ = log_under(world["logger"], np.random.default_rng(200 + seed), 8_000)
        decision = promote(world["good"], world["uniform"], logs)
        assert decision.promote, decision.reason
        assert decision.difference.ci_low > 0
        assert decision.as_dict()["candidate"]["estimator"] == "dr"


@pytest.mark.parametrize("estimator", ["snips", "dr"])
def test_gate_refuses_a_worse_or_equal_policy(world, estimator):
    for seed in range(5):
        logs, _ = log_under(world["logger"], np.random.default_rng(300 + seed), 8_000)
        assert not promote(world["bad"], world["good"], logs, estimator=estimator).promote
        assert not promote(world["uniform"], world["good"], logs, estimator=estimator).promote
        same = promote(world["good"], world["good"], logs, estimator=estimator)
        assert not same.promote and "not shown better" in same.reason


def test_estimate_rejects_malformed_input(world):
    logs, _ = log_under(world["logger"], np.random.default_rng(5), 100)
    with pytest.raises(ValueError, match="decisions, arms"):
        estimate(np.ones((3, 4)), logs)
    with pytest.raises(ValueError, match="estimator"):
        estimate(target_probabilities(world["good"], logs), logs, estimator="naive")


def test_not_worse_rule_lets_a_better_looking_candidate_through_and_refuses_the_rest(world):
    logs, _ = log_under(world["logger"], np.random.default_rng(400), 8_000)
    kw = {"rule": "not_worse", "margin": 0.005}
    assert promote(world["good"], world["uniform"], logs, **kw).promote
    assert not promote(world["bad"], world["good"], logs, **kw).promote
    assert not promote(world["good"], world["good"], logs, **kw).promote  # not better
    with pytest.raises(ValueError, match="positive margin"):
        promote(world["good"], world["uniform"], logs, rule="not_worse")
