"""Bucketing is GrowthBook hashing v2, and the SQL function agrees with Python.

GrowthBook's own answers are frozen in data/growthbook_hash_vectors.json (made by
data/make_growthbook_vectors.py from the `growthbook` package), so the suite needs only the
`dev` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.bucketing import bucket_ranges, choose_bucket, fnv1a32, hash_unit
from tests.segments.data.edge_ids import IDS

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "growthbook_hash_vectors.json").read_text(encoding="utf-8")
)


def test_hash_unit_matches_growthbook_vectors():
    vectors = VECTORS["hash_unit"]
    assert len(vectors) >= 300
    assert any(ord(c) > 0xFFFF for v in vectors for c in v["id"])  # astral ids are covered
    wrong = [
        v
        for v in vectors
        if hash_unit(v["seed"], v["id"]) != v["hash_unit"]
        or fnv1a32(v["seed"] + v["id"]) != v["fnv1a32"]
    ]
    assert wrong == []


@given(st.text(max_size=40), st.text(max_size=40))
@settings(max_examples=500)
def test_hash_unit_is_a_four_decimal_fraction_for_any_text(seed, unit):
    h = hash_unit(seed, unit)
    assert 0 <= h < 1
    assert h == round(h, 4)
    assert h == (fnv1a32(str(fnv1a32(seed + unit))) % 10000) / 10000


def test_known_values():
    # GrowthBook hash v2 of ("", "a") and FNV-1a's offset basis (the hash of "").
    assert hash_unit("", "a") == 0.0216
    assert fnv1a32("") == 0x811C9DC5


@pytest.mark.parametrize(
    "vector",
    VECTORS["bucket_ranges"],
    ids=[f"{len(v['weights'])}-buckets-coverage-{v['coverage']}" for v in VECTORS["bucket_ranges"]],
)
def test_bucket_ranges_match_growthbook(vector):
    ours = bucket_ranges(vector["weights"], vector["coverage"])
    flat = [x for r in ours for x in r]
    assert flat == pytest.approx([x for r in vector["ranges"] for x in r])
    for n, bucket in vector["choices"]:
        assert choose_bucket(n, ours) == bucket, n


def test_bucket_ranges_normalise_and_raise_coverage_keeps_people():
    assert bucket_ranges([1, 1]) == [(0.0, 0.5), (0.5, 1.0)]
    low, high = bucket_ranges([1, 3], 0.5), bucket_ranges([1, 3], 1.0)
    for i in range(10000):
        n = i / 10000
        b = choose_bucket(n, low)
        if b != -1:
            assert choose_bucket(n, high) == b
    assert bucket_ranges([]) == []
    with pytest.raises(ValueError):
        bucket_ranges([0, 0])
    with pytest.raises(ValueError):
        bucket_ranges([-1, 2])
    assert choose_bucket(1.0, bucket_ranges([1])) == -1


@pytest.mark.django_db
def test_sql_function_matches_python():
    """personalize_hash_unit is registered on SQLite and created by migration on PostgreSQL."""
    with connection.cursor() as cur:
        for seed in ["", "spring", "é-seed", "🌸"]:
            for unit in IDS:
                cur.execute("SELECT personalize_hash_unit(%s, %s)", [seed, unit])
                assert cur.fetchone()[0] == hash_unit(seed, unit), (seed, unit)


def test_seeded_hash_equals_hash_unit():
    from segments.bucketing import seeded_hash

    ids = ["", "a", "user-42", "ünïcode", "😀 astral", "\ud800 lone", "x" * 300]
    for seed in ("", "opt-1", "opt-1:holdout", "séed"):
        hashed = seeded_hash(seed)
        assert [hashed(i) for i in ids] == [hash_unit(seed, i) for i in ids]
