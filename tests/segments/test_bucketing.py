"""Bucketing is GrowthBook hashing v2, and the SQL function agrees with Python."""

from __future__ import annotations

import pytest
from django.db import connection
from growthbook.core import chooseVariation, gbhash, getBucketRanges
from growthbook.core import fnv1a32 as gb_fnv1a32
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.bucketing import bucket_ranges, choose_bucket, fnv1a32, hash_unit

IDS = [
    "",
    "a",
    "user-42",
    "anon-7f3",
    "Ünïcödé",
    "日本語",
    "😀",
    "a😀b",
    "\U0001d4b3\U0001d4b4",
    "ß" * 50,
    "x" * 300,
]


@pytest.mark.parametrize("unit", IDS)
@pytest.mark.parametrize("seed", ["", "spring-promo", "é-seed", "🌸"])
def test_hash_unit_matches_growthbook(seed, unit):
    assert hash_unit(seed, unit) == gbhash(seed, unit, 2)
    assert fnv1a32(seed + unit) == gb_fnv1a32(seed + unit)


@given(st.text(max_size=40), st.text(max_size=40))
@settings(max_examples=500)
def test_hash_unit_matches_growthbook_for_any_text(seed, unit):
    h = hash_unit(seed, unit)
    assert h == gbhash(seed, unit, 2)
    assert 0 <= h < 1


def test_known_values():
    # Values from GrowthBook's cross-SDK test cases (hash v2).
    assert hash_unit("", "a") == gbhash("", "a", 2)
    assert fnv1a32("") == 0x811C9DC5


@pytest.mark.parametrize(
    ("weights", "coverage"),
    [
        ([0.5, 0.5], 1.0),
        ([0.2, 0.3, 0.5], 0.6),
        ([1 / 3] * 3, 1.0),
        ([0.1, 0.9], 0.0),
        ([1.0], 0.25),
    ],
)
def test_bucket_ranges_match_growthbook(weights, coverage):
    ours = bucket_ranges(weights, coverage)
    theirs = getBucketRanges(len(weights), coverage, weights)
    flat = [x for r in ours for x in r]
    assert flat == pytest.approx([x for r in theirs for x in r])
    for n in [0, 0.1, 0.2, 0.3333, 0.5, 0.5999, 0.6, 0.9999]:
        assert choose_bucket(n, ours) == chooseVariation(n, theirs)


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
