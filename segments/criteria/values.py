"""Reading raw JSON values as the catalog's types. Shared by the in-memory compiler and the
SQLite SQL functions, so both sides read values identically (PostgreSQL mirrors these in
migration 0002). Every reader returns None for a value it cannot read."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

MAX_REGEX_INPUT = 10_000  # longer strings never match a `matches` condition
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86400.0

# One strict ISO 8601 shape, readable the same way by Python and PostgreSQL:
# date, optional time (T or space), optional fraction, optional Z / ±HH:MM offset.
WHEN_RE = re.compile(
    r"([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])?)?"
)
VERSION_RE = re.compile(r"v?([0-9]{1,9}(?:\.[0-9]{1,9}){0,7})(?:[-+].*)?", re.DOTALL)
# A number written as text: plain decimal, at most 15 digits on each side of the point (so
# every such number is a finite float, read identically by Python and PostgreSQL), ASCII
# blanks around it. No exponent, no "NaN"/"Infinity", no thousands separators.
NUMBER_TEXT = r"[ \t\n\r]*[+-]?[0-9]{1,15}(\.[0-9]{1,15})?[ \t\n\r]*"
NUMBER_TEXT_RE = re.compile(NUMBER_TEXT)
TEXT_BLANKS = " \t\n\r"


def fold(s: str) -> str:
    """Case folding for case-insensitive compares: per-character simple lowercase.

    Per character (not `str.lower()` on the whole string) so it matches SQL `lower()`.
    """
    if s.isascii():
        return s.lower()
    out = []
    for c in s:
        lc = c.lower()
        out.append(lc if len(lc) == 1 else c)
    return "".join(out)


def epoch_seconds(dt: datetime) -> float:
    """Seconds since 1970-01-01 UTC; a naive datetime is read as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) / timedelta(seconds=1)


def as_number(v: Any) -> float | int | None:
    t = type(v)
    if t is int:
        return v
    if t is float and math.isfinite(v):
        return v
    return None


def number_from_text(s: Any) -> float | None:
    """ "27" or " 27.5 " → the number; None for any other text (see NUMBER_TEXT)."""
    if type(s) is not str or NUMBER_TEXT_RE.fullmatch(s) is None:
        return None
    return float(s)


def bool_from_text(s: Any) -> bool | None:
    """ "true" / "false" (any case, ASCII blanks around) → the boolean; None otherwise."""
    if type(s) is not str or not s.isascii():
        return None
    word = s.strip(TEXT_BLANKS).lower()
    return True if word == "true" else False if word == "false" else None


# Field readers: a field's stored value read as the field's type where it can be (a number
# field holding "27" reads 27). Criteria operands stay strict (as_number, as_version…).


def read_number(v: Any) -> float | int | None:
    n = as_number(v)
    return number_from_text(v) if n is None and type(v) is str else n


def read_bool(v: Any) -> bool | None:
    if v is True or v is False:
        return v
    return bool_from_text(v) if type(v) is str else None


def read_version(v: Any) -> tuple[int, ...] | None:
    """A version string, or a whole number (17 → "17"; 17.5 stays unreadable: JSON floats
    lose their digits, "3.10" would read as 3.1)."""
    if type(v) is int and v >= 0:
        v = str(v)
    return as_version(v)


def as_string(v: Any) -> str | None:
    return v if type(v) is str else None


def as_bool(v: Any) -> bool | None:
    return v if v is True or v is False else None


class When(tuple):
    """(epoch seconds, epoch of the wall-clock date at 00:00 UTC, local hour, ISO weekday)."""

    __slots__ = ()


class ReadTime(datetime):
    """A datetime that keeps its `parse_when` reading once made: a document prepared once
    per decision holds its times as these, so the rules that test one field read it once,
    not once each (`delivery.engine.prepare_document`). Otherwise an ordinary datetime."""

    __slots__ = ("_when",)


def parse_when(v: Any) -> When | None:
    """Read an ISO date/datetime string (or datetime/date object). Naive times are UTC.
    A When (already read, e.g. by a caller that prepares a document once) is returned as is,
    and a ReadTime's reading is made once."""
    if type(v) is When:
        return v
    if type(v) is ReadTime:
        try:
            return v._when
        except AttributeError:
            when = v._when = _datetime_when(v)
            return when
    if type(v) is str:
        m = WHEN_RE.fullmatch(v)
        if m is None:
            return None
        y, mo, d, hh, mi, ss, frac, off = m.groups()
        try:
            if off is None or off == "Z":
                tz = UTC
            else:
                sign = -1 if off[0] == "-" else 1
                tz = timezone(sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
            dt = datetime(
                int(y),
                int(mo),
                int(d),
                int(hh or 0),
                int(mi or 0),
                int(ss or 0),
                int((frac or "0").ljust(6, "0")),
                tzinfo=tz,
            )
        except ValueError:
            return None
    elif isinstance(v, datetime):
        return _datetime_when(v)
    elif isinstance(v, date):
        dt = datetime(v.year, v.month, v.day, tzinfo=UTC)
    else:
        return None
    return _datetime_when(dt)


def _datetime_when(dt: datetime) -> When:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    wall = dt.date()
    day_epoch = (wall - _EPOCH.date()).days * _DAY
    return When(((dt - _EPOCH) / timedelta(seconds=1), day_epoch, dt.hour, wall.isoweekday()))


def as_version(v: Any) -> tuple[int, ...] | None:
    """ "17.10" → (17, 10); trailing zeros are dropped so "3.2" == "3.2.0"; suffixes ignored."""
    if type(v) is not str:
        return None
    return _version_memo(v) if len(v) <= 64 else _version(v)


def _version(v: str) -> tuple[int, ...] | None:
    m = VERSION_RE.fullmatch(v)
    if m is None:
        return None
    parts = [int(p) for p in m.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


# A decide reads the same os/app version once per rule that tests it, and the versions seen
# are few: memoised, bounded in count and (short strings only) in size.
_version_memo = lru_cache(maxsize=4096)(_version)


def version_cmp(a: Any, b: Any) -> int | None:
    va, vb = as_version(a), as_version(b)
    if va is None or vb is None:
        return None
    return (va > vb) - (va < vb)


def as_geo(v: Any) -> tuple[float, float] | None:
    if type(v) is not dict:
        return None
    lat, lng = as_number(v.get("lat")), as_number(v.get("lng"))
    if lat is None or lng is None:
        return None
    return float(lat), float(lng)


_RAD = 0.017453292519943295  # pi / 180, spelled out so SQL uses the very same constant
EARTH_KM = 6371.0088


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance. Written operation by operation like the SQL twin."""
    p1 = lat1 * _RAD
    p2 = lat2 * _RAD
    s1 = math.sin((lat2 - lat1) * _RAD / 2.0)
    s2 = math.sin((lng2 - lng1) * _RAD / 2.0)
    a = s1 * s1 + math.cos(p1) * math.cos(p2) * s2 * s2
    return 2.0 * EARTH_KM * math.asin(math.sqrt(min(1.0, a)))


def string_list(v: Any, cs: bool) -> set[str] | None:
    """The string items of a JSON list (folded unless case-sensitive); None if not a list."""
    if type(v) is not list:
        return None
    if cs:
        return {x for x in v if type(x) is str}
    return {fold(x) for x in v if type(x) is str}
