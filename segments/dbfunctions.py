"""SQL functions the criteria compiler relies on, registered on every SQLite connection.

They call the very Python code the in-memory engine uses, so SQLite results agree by
construction. PostgreSQL gets plpgsql twins from migration 0002.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from segments.bucketing import hash_unit
from segments.criteria import values as V
from segments.criteria.parse import re2_options


def sql_hash_unit(seed: Any, unit_id: Any) -> float | None:
    if seed is None or unit_id is None:
        return None
    return hash_unit(str(seed), str(unit_id))


def sql_lower(s: Any) -> str | None:
    return V.fold(s) if isinstance(s, str) else None


_WHEN_PARTS = {"ts": 0, "day": 1, "hour": 2, "dow": 3}


def sql_when(s: Any, part: str) -> float | int | None:
    w = V.parse_when(s) if isinstance(s, str) else None
    return None if w is None else w[_WHEN_PARTS[part]]


def sql_version_cmp(a: Any, b: Any) -> int | None:
    return V.version_cmp(a, b)


def sql_number(s: Any) -> float | None:
    return V.number_from_text(s)


def sql_km(lat1: Any, lng1: Any, lat2: Any, lng2: Any) -> float | None:
    if None in (lat1, lng1, lat2, lng2):
        return None
    return V.haversine_km(float(lat1), float(lng1), float(lat2), float(lng2))


@lru_cache(maxsize=256)
def _regex(pattern: str, case_sensitive: bool) -> Any:
    return re2.compile(pattern, re2_options(case_sensitive))


def sql_regex(s: Any, pattern: Any, case_sensitive: Any) -> int | None:
    if not isinstance(s, str) or pattern is None:
        return None
    if len(s) > V.MAX_REGEX_INPUT:
        return 0
    return int(_regex(pattern, bool(case_sensitive)).search(s) is not None)


FUNCTIONS = (
    ("personalize_hash_unit", 2, sql_hash_unit),
    ("personalize_lower", 1, sql_lower),
    ("personalize_when", 2, sql_when),
    ("personalize_version_cmp", 2, sql_version_cmp),
    ("personalize_km", 4, sql_km),
    ("personalize_number", 1, sql_number),
    ("personalize_regex", 3, sql_regex),
)


def register_sqlite_functions(raw_connection: Any) -> None:
    for name, nargs, fn in FUNCTIONS:
        raw_connection.create_function(name, nargs, fn, deterministic=True)


@receiver(connection_created)
def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        register_sqlite_functions(connection.connection)
