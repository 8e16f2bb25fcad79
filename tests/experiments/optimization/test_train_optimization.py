"""Training an optimization from logged decisions and goal events stored as rows: the learnt
policy gives each kind of visitor its better variant, serving the stored tables equals the
trained tree, the gate promotes a better candidate and refuses a worse one, and every
version is kept with its window, counts and quality."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from experiments.models import Optimization, PolicyVersion, PolicyVersionStatus
from experiments.policy.compiled import CompiledPolicy
from experiments.policy.serve import choose, leaf_of
from experiments.policy.train import TreeTables, leaf_indices
from experiments.services.optimization import optimization_start
from experiments.services.optimization_train import (
    HELD_OUT_SHARE,
    SPLIT_SALT,
    optimization_train,
)
from segments.bucketing import hash_unit
from tenancy.models import Site
from tests.experiments.optimization.conftest import REVERSED, TRUTH, log_decisions

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def running(optimization):
    return optimization_start(optimization=optimization)


def row(policy: CompiledPolicy, device: str) -> tuple[float, ...]:
    return policy.encoder.encode_values({"context.device_type": device})


def test_the_trained_policy_gives_each_device_its_better_variant(running, now):
    log_decisions(running, n=2000, start=now - timedelta(days=5), rates=TRUTH)
    result = optimization_train(optimization=running, now=now, force=True)
    assert result.status == "promoted", result.reason
    version = result.version
    running.refresh_from_db()
    assert running.live_version_id == version.pk and running.last_trained_at == now
    assert version.number == 1 and version.status == PolicyVersionStatus.LIVE
    policy = CompiledPolicy.from_json(version.policy)
    assert policy.version == "1" and policy.seed == running.seed
    b, c = policy.arms.index("b"), policy.arms.index("c")
    mobile = policy.probabilities[leaf_of(policy, row(policy, "mobile"))]
    desktop = policy.probabilities[leaf_of(policy, row(policy, "desktop"))]
    assert mobile[b] > 0.8 and desktop[c] > 0.8
    # Every arm keeps the floor.
    assert min(min(p) for p in policy.probabilities) >= running.floor - 1e-9


def test_serving_the_stored_tables_equals_the_trained_tree(running, now):
    log_decisions(running, n=2000, start=now - timedelta(days=5), rates=TRUTH)
    version = optimization_train(optimization=running, now=now, force=True).version
    policy = CompiledPolicy.from_json(version.policy)
    tables = TreeTables(
        policy.feature,
        policy.threshold,
        policy.left,
        policy.right,
        policy.missing_left,
        policy.leaf,
    )
    docs = [{"context.device_type": d} for d in ("mobile", "desktop", "tablet")] + [{}]
    rows = np.array([policy.encoder.encode_values(d) for d in docs])
    leaves = leaf_indices(tables, rows)
    for i, r in enumerate(rows.tolist()):
        _, probabilities = choose(policy, r, f"visitor-{i}")
        assert probabilities == policy.probabilities[leaves[i]]
    # Over many visitors, the arm shares follow the leaf's probabilities.
    mobile = row(policy, "mobile")
    picks = [choose(policy, mobile, f"v{i}")[0] for i in range(4000)]
    expected = policy.probabilities[leaf_of(policy, mobile)][policy.arms.index("b")]
    assert abs(picks.count("b") / len(picks) - expected) < 0.03


def test_versions_are_kept_with_window_counts_and_quality(running, now):
    start = now - timedelta(days=5)
    log_decisions(running, n=2000, start=start, rates=TRUTH)
    first = optimization_train(optimization=running, now=now, force=True).version
    # Tablets, unseen by version 1, are most of the new traffic: the vocabulary of version 2
    # is (tablet, ...), so version 1 must read the held-out decisions with its own.
    devices = ("tablet",) * 6 + ("mobile", "desktop")
    log_decisions(
        running, n=2000, start=now + timedelta(days=1), rates=TRUTH, prefix="w", devices=devices
    )
    later = now + timedelta(days=3)
    second = optimization_train(optimization=running, now=later, force=True)
    assert second.version.number == 2
    first.refresh_from_db()
    versions = list(PolicyVersion.objects.filter(optimization=running).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    if second.status == "promoted":
        assert first.status == PolicyVersionStatus.RETIRED and first.retired_at == later
    else:
        assert first.status == PolicyVersionStatus.LIVE
    for v in versions:
        assert v.window_start >= start and v.window_end < v.trained_at
        assert v.decisions + v.held_out <= 4000 and v.held_out > 0 and v.rewarded > 0
        assert v.features == running.features
        q = v.quality
        assert q["held_out"] == v.held_out
        assert {"promote", "reason", "candidate", "live", "difference", "snips"} <= set(q)
        assert q["candidate"]["estimator"] == "dr" and q["snips"]["candidate"]["n"] == v.held_out
        assert q["candidate"]["ci_low"] <= q["candidate"]["value"] <= q["candidate"]["ci_high"]
    # The second gate compared against version 1, read with its own vocabulary: both
    # models are good, so their estimates are close (a misread live model would not be).
    q = versions[1].quality
    assert q["live_version"] == 1
    assert abs(q["candidate"]["value"] - q["live"]["value"]) < 0.05
    assert q["live"]["value"] > 0.19  # uniform would be about 0.15


def held_out_units(optimization, n: int, *, held: bool) -> list[str]:
    salt = optimization.seed + SPLIT_SALT
    out, i = [], 0
    while len(out) < n:
        unit = f"x{i}"
        if (hash_unit(salt, unit) < HELD_OUT_SHARE) == held:
            out.append(unit)
        i += 1
    return out


def test_the_gate_refuses_a_candidate_worse_on_held_out_logs(running, now):
    """Training visitors prefer b on mobile, held-out visitors the reverse: the candidate
    learnt from the first is worse than the uniform live policy on the second."""
    start = now - timedelta(days=5)
    train_units = held_out_units(running, 1500, held=False)
    held_units = held_out_units(running, 1000, held=True)
    log_decisions(running, n=1500, start=start, rates=TRUTH, units=train_units)
    log_decisions(running, n=1000, start=start, rates=REVERSED, units=held_units, seed=1)
    result = optimization_train(optimization=running, now=now, force=True)
    assert result.status == "rejected", result.reason
    version = result.version
    assert version.status == PolicyVersionStatus.REJECTED and version.promoted_at is None
    assert version.quality["promote"] is False
    assert version.quality["difference"]["value"] < 0
    running.refresh_from_db()
    assert running.live_version is None and running.last_trained_at == now


def test_a_promotion_bumps_the_site_configuration(running, now):
    log_decisions(running, n=2000, start=now - timedelta(days=5), rates=TRUTH)
    before = Site.objects.get(pk=running.site_id).config_version
    assert optimization_train(optimization=running, now=now, force=True).status == "promoted"
    assert Site.objects.get(pk=running.site_id).config_version > before


def test_too_little_data_is_skipped_and_stores_nothing(running, now):
    log_decisions(running, n=50, start=now - timedelta(days=5), rates=TRUTH)
    result = optimization_train(optimization=running, now=now, force=True)
    assert result.status == "skipped" and "needed" in result.reason
    assert not PolicyVersion.objects.exists()
    assert Optimization.objects.get(pk=running.pk).last_trained_at is None


def test_no_decisions_at_all_is_skipped(running, now):
    assert optimization_train(optimization=running, now=now, force=True).status == "skipped"


def test_decisions_too_recent_to_have_converted_wait(running, now):
    log_decisions(running, n=2000, start=now - timedelta(hours=2), rates=TRUTH)
    assert optimization_train(optimization=running, now=now, force=True).status == "skipped"


def test_a_draft_or_stopped_optimization_is_not_trained(optimization, now):
    log_decisions(optimization, n=2000, start=now - timedelta(days=5), rates=TRUTH)
    result = optimization_train(optimization=optimization, now=now, force=True)
    assert result.status == "skipped" and "draft" in result.reason
