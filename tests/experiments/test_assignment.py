"""experiments.assignment: GrowthBook's experiment runner is the oracle (frozen in
data/assignment_vectors.json by data/make_assignment_vectors.py), then what GrowthBook does
not do: the global holdout, layers, sticky assignments across weight changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.assignment import (
    CompiledExperiment,
    CompiledHoldout,
    assign,
    compile_arms,
    parse_token,
)
from segments.bucketing import hash_unit

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "assignment_vectors.json").read_text(encoding="utf-8")
)
UNITS = [f"visitor-{i}" for i in range(4000)] + [f"访客-{i}-ü" for i in range(1000)]


def experiment(weights=(1, 1), coverage=1.0, **kw) -> CompiledExperiment:
    arms = compile_arms(
        [(f"arm{i}", w, None if i == 0 else f"v{i}") for i, w in enumerate(weights)]
    )
    kw.setdefault("key", "exp")
    kw.setdefault("phase", 1)
    kw.setdefault("seed", "exp")
    return CompiledExperiment(
        slot_kind="placement", slot_key="hero", arms=arms, coverage=coverage, **kw
    )


def test_assign_matches_growthbook_on_ascii_and_non_ascii_ids():
    assert len(VECTORS) > 1000
    assert any(not v["id"].isascii() for v in VECTORS)
    assert any(any(ord(c) > 0xFFFF for c in v["id"]) for v in VECTORS)  # surrogate pairs
    assert {v["arm"] for v in VECTORS} >= {None, 0, 1, 2}
    wrong = []
    for v in VECTORS:
        exp = experiment(v["weights"], v["coverage"], seed=v["seed"])
        got = assign(exp, v["id"])
        index = None if got is None else exp.arms.index(got.arm)
        if index != v["arm"]:
            wrong.append((v, index))
    assert wrong == []


def test_probability_is_the_normalised_weight():
    exp = experiment((1, 3))
    got = {assign(exp, u).arm.key: assign(exp, u).probability for u in UNITS[:200]}
    assert got == {"arm0": 0.25, "arm1": 0.75}


def test_raising_coverage_never_moves_anyone_assigned():
    before = {u: assign(experiment((1, 2, 1), 0.2), u) for u in UNITS}
    for coverage in (0.5, 0.8, 1.0):
        after = experiment((1, 2, 1), coverage)
        moved = [
            u for u, a in before.items() if a is not None and assign(after, u).arm.key != a.arm.key
        ]
        assert moved == []
    assert sum(a is not None for a in before.values()) == pytest.approx(0.2 * len(UNITS), rel=0.1)


def test_sticky_assignment_survives_weight_changes_within_a_phase():
    old = experiment((1, 1))
    first = {u: assign(old, u) for u in UNITS}
    tokens = {u: a.token for u, a in first.items()}
    assert set(tokens.values()) == {"1:arm0", "1:arm1"}
    new = experiment((1, 9))  # a bandit batch moved the weights, same phase
    rehashed = [u for u in UNITS if assign(new, u).arm.key != first[u].arm.key]
    assert rehashed  # without stickiness people would move...
    kept = [assign(new, u, sticky=tokens[u]) for u in UNITS]
    assert all(k.arm.key == first[u].arm.key and k.sticky for k, u in zip(kept, UNITS, strict=True))
    # ...and sticky units report today's share of their arm.
    assert {k.probability for k in kept} == {0.1, 0.9}


def test_sticky_assignment_of_another_phase_or_arm_is_ignored():
    exp = experiment((1, 1), phase=2)
    for token in ("1:arm1", "1:arm0", "2:gone", "2", "", "x:arm1", "2:arm1:x"):
        got = assign(exp, "visitor-1", sticky=token)
        assert not got.sticky, token
    assert assign(exp, "visitor-1", sticky="2:arm1").arm.key == "arm1"


def test_sticky_does_not_bypass_audience_layer_or_holdout():
    exp = experiment(audience="vip")
    assert assign(exp, "visitor-1", sticky="1:arm1", in_audience=lambda k: False) is None
    assert assign(exp, "visitor-1", sticky="1:arm1", in_audience=lambda k: k == "vip")
    assert assign(exp, "visitor-1", sticky="1:arm1") is None  # no audience answer: not in it
    held = next(u for u in UNITS if hash_unit("holdout", u) < 0.1)
    assert (
        assign(experiment(), held, sticky="1:arm1", holdout=CompiledHoldout("holdout", 0.1)) is None
    )


def test_layer_slices_are_mutually_exclusive_and_cover_the_layer():
    a = experiment(key="a", seed="a", layer_seed="layer", layer_start=0.0, layer_end=0.3)
    b = experiment(key="b", seed="b", layer_seed="layer", layer_start=0.3, layer_end=1.0)
    in_a = {u for u in UNITS if assign(a, u)}
    in_b = {u for u in UNITS if assign(b, u)}
    assert not in_a & in_b
    assert in_a | in_b == set(UNITS)
    assert len(in_a) / len(UNITS) == pytest.approx(0.3, abs=0.03)
    assert all(hash_unit("layer", u) < 0.3 for u in in_a)


def test_holdout_share_and_exclusion():
    holdout = CompiledHoldout(seed="holdout", share=0.1)
    held = [u for u in UNITS if holdout.holds(u)]
    assert len(held) / len(UNITS) == pytest.approx(0.1, abs=0.015)
    exp = experiment()
    assert all(assign(exp, u, holdout=holdout) is None for u in held)
    assert all(assign(exp, u, holdout=holdout) for u in UNITS if u not in held)
    assert not CompiledHoldout(seed="holdout", share=0.0).holds(UNITS[0])


def test_no_unit_no_assignment_and_arm_validation():
    assert assign(experiment(), "") is None
    assert assign(experiment(), None) is None
    with pytest.raises(ValueError):
        compile_arms([("a", 0, None)])
    with pytest.raises(ValueError):
        CompiledExperiment(key="e", phase=1, slot_kind="screen", slot_key="s", arms=(), seed="e")


def test_parse_token():
    assert parse_token("3:treatment") == (3, "treatment")
    for bad in ("", "3", "3:", ":a", "x:a", "٣:a", "-1:a"):
        assert parse_token(bad) is None, bad
