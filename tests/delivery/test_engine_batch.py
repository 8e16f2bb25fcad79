"""decide() of every slot: the targeted segments in one RuleSet pass and the slots resolved
by the generated program agree with the slot-by-slot loop, and fall back to it."""

from __future__ import annotations

import random
from datetime import timedelta

from delivery.engine import decide, encode, prepare_document
from tests.delivery.test_engine import (
    NOW,
    RuleByRule,
    compiled_segments,
    doc,
    rule,
    snapshot,
    variant,
    varied_documents,
)


def scheduled_slots(keys, seed=9):
    """Slots whose variants target random segments (some unknown), some of them scheduled
    around NOW."""
    rng = random.Random(seed)
    hour = timedelta(hours=1)
    slots = {}
    for j in range(12):
        variants = []
        for k in range(rng.randint(0, 5)):
            starts = rng.choice([None, None, NOW - hour, NOW + hour])
            ends = rng.choice([None, None, NOW, NOW + 2 * hour])
            variants.append(
                variant(f"p{j}v{k}", rng.choice(keys), k, starts_at=starts, ends_at=ends)
            )
        slots[f"p{j}"] = variants
    return slots


def test_every_slot_decide_agrees_with_the_slot_by_slot_loop():
    rules = compiled_segments()
    slots = scheduled_slots([*sorted(rules), "missing"])
    batch = snapshot(rules, **slots)
    single = snapshot({k: RuleByRule(r) for k, r in rules.items()}, **slots)
    assert batch.targeted_rule_set is not None and batch.resolution_programs is not None
    assert single.targeted_rule_set is None and single.resolution_programs is None
    assert "missing" not in batch.targeted_rule_set[1]  # no rule: never a member
    rng = random.Random(4)
    variants = set()
    for raw in varied_documents(300):
        d = prepare_document(raw)
        now = NOW + timedelta(minutes=rng.choice([-90, 0, 30, 61, 150]))
        expected = decide(single, d, now=now)
        got = decide(batch, d, now=now)
        assert got == expected
        for kind in ("placements", "screens"):
            # the snapshot's own entries (their fragments are joined by identity)
            assert all(id(entry) in batch.fragments for entry in got[kind].values())
        # a request naming every slot goes the lazy way, with the same answers
        assert decide(batch, d, now=now, placements=list(slots), screens=["home"]) == expected
        assert encode(batch, got) == encode(single, expected)
        variants.update(v["variant"] for v in got["placements"].values())
    assert len(variants) > 30  # the documents and times reach varied variants


def test_every_slot_decide_goes_rule_by_rule_when_the_targeted_set_raises():
    class Raising:
        def matching(self, doc, now=None):
            raise ZeroDivisionError

    snap = snapshot(
        {"a": rule("context.city", "A"), "b": rule("context.city", "B")},
        hero=[variant("x", "a"), variant("y", "b")],
    )
    vars(snap)["targeted_rule_set"] = (Raising(), {"a": False, "b": False})
    assert decide(snap, doc(city="B"), now=NOW)["placements"]["hero"]["variant"] == "y"


def test_a_slot_too_long_for_the_program_is_resolved_by_the_loop():
    rules = {"a": rule("context.city", "A"), "b": rule("context.city", "B")}
    # 300 nested conditional expressions pass Python's parser limits: no program
    snap = snapshot(rules, hero=[variant(f"v{k}", "ab"[k % 2], k) for k in range(300)])
    assert snap.targeted_rule_set is not None and snap.resolution_programs is None
    assert decide(snap, doc(city="B"), now=NOW)["placements"]["hero"]["variant"] == "v1"
    assert decide(snap, doc(city="C"), now=NOW)["placements"]["hero"]["variant"] == "hero-default"
