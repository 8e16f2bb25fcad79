"""The registered SQL functions (SQLite: Python; PostgreSQL: migration 0002) return exactly
what the in-memory readers return, value by value."""

from __future__ import annotations

import pytest
from django.db import connection

from segments.criteria import values as V

WHEN = [
    "2026-11-22",
    "2026-11-22T19:05:00-05:00",
    "2026-11-22T19:05-05:00",
    "2026-11-22 08:00:00",
    "2026-11-22T23:59:59.999999+14:00",
    "2026-11-22T00:00:00.5Z",
    "2000-02-29T12:00:00+05:30",
    "1000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:59",
    "2026-02-30",
    "2026-11-22T24:00:00Z",
    "2026-11-22T10:60:00Z",
    "2026-11-22T10:00:00+15:00",
    "0999-01-01",
    "26-11-22",
    "2026-11-22T",
    "2026-11-22T10:00:00.1234567Z",
    " 2026-11-22",
    "2026-11-22\n",
    "yesterday",
    "",
]
VERSIONS = [
    "17.2",
    "17.10",
    "17.9",
    "3.2",
    "3.2.0",
    "v3.2",
    "3.2.0-beta",
    "3.2+build.7",
    "1.2.3.4.5.6.7.8",
    "1.2.3.4.5.6.7.8.9",
    "1234567890",
    "01.002",
    "abc",
    "",
    "3..2",
    "3.2-",
    "v",
    "17.2\n",
]
TEXT = ["Detroit", "DÉTROIT", "École", "ΩMEGA", "straße", "ÀÉÎÕÜ", "😀X", "İstanbul", "ǅ"]


def scalar(sql: str, params: list) -> object:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


@pytest.mark.django_db
@pytest.mark.parametrize("s", WHEN)
def test_when(s):
    w = V.parse_when(s)
    for i, part in enumerate(("ts", "day", "hour", "dow")):
        got = scalar("SELECT personalize_when(%s, %s)", [s, part])
        assert got == (None if w is None else w[i]), (s, part)


@pytest.mark.django_db
@pytest.mark.parametrize("a", VERSIONS)
def test_version_cmp(a):
    for b in VERSIONS:
        assert scalar("SELECT personalize_version_cmp(%s, %s)", [a, b]) == V.version_cmp(a, b), (
            a,
            b,
        )


@pytest.mark.django_db
def test_km_and_lower():
    for p in [
        (42.3314, -83.0458, 42.2808, -83.743),
        (0, 0, 0, 180),
        (90, 0, -90, 0),
        (1.5, 2, 1.5, 2),
    ]:
        assert scalar("SELECT personalize_km(%s, %s, %s, %s)", list(p)) == V.haversine_km(*p)
    for t in TEXT[:-2]:  # see docs/criteria.md for characters whose lowercase is longer
        assert scalar("SELECT personalize_lower(%s)", [t]) == V.fold(t), t
