"""How big a criteria tree may be: the limits on size, depth, node count and strings.

Answers "is this input within bounds?" for the parser (which reports a breach with the JSON
path of the node at fault) and for `precheck`, the cheap walk without recursion that
rejects pathological input before the parser sees it. Pure: no Django, no parsing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sized
from contextlib import contextmanager
from typing import Any

from segments.criteria.errors import CriteriaError

# The parser's limits, reported with the path of the offending node.
MAX_DEPTH = 10
MAX_NODES = 500
MAX_IN_VALUES = 10_000
MAX_PATTERN = 500
MAX_STRING = 10_000
MAX_EVENT_NAME = 100
# Numbers: whole numbers a double (and JavaScript) holds exactly, finite floats only.
MAX_ABS_NUMBER = 2**53
MAX_WITHIN_DAYS = 36_600  # a hundred years
MAX_DURATION_SECONDS = MAX_WITHIN_DAYS * 86_400.0
MAX_EVENT_COUNT = 2**31 - 1
# PostgreSQL stores neither NUL nor lone surrogates in text or jsonb.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")

# The precheck's limits: far above the parser's, they only stop input no valid tree has,
# before anything recurses into it.
MAX_CRITERIA_BYTES = 256 * 1024
HARD_MAX_DEPTH = 40
HARD_MAX_CONTAINERS = 20_000


def precheck(tree: Any) -> None:
    """Reject shapes no valid tree has, without recursion, before the engine walks them.

    Runs once per stored segment in every snapshot build, so it is kept cheap: a node's
    JSON path is spelled out only for an error, and the serialised size is bounded from
    above during the walk (the exact `json.dumps` runs only when that bound passes the
    limit, or for a value whose JSON the bound cannot tell)."""
    if not isinstance(tree, dict):
        raise CriteriaError("$", 'Criteria must be a JSON object, e.g. {"all": []}.')
    if _plainly_within_bounds(tree):
        return
    # (node, depth, where): `where` is None for the root, else (parent's where, key or
    # index, whether it is an index).
    stack: list[tuple[Any, int, Any]] = [(tree, 1, None)]
    containers = 0
    bound = 0  # at least the length of json.dumps(tree, default=str)
    exact = False  # a value the bound does not cover: measure the JSON itself
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, dict):
            for key in node:
                if isinstance(key, str):
                    problem = text_problem(key)
                    if problem:
                        raise CriteriaError(_path(where), f"A key is not storable: {problem}")
                    bound += _text_bound(key) + 4  # ": " and ", "
                else:
                    exact = True
            bound += 2
            containers += 1
            if depth > HARD_MAX_DEPTH:
                raise CriteriaError(
                    "$", f"The criteria are nested more than {HARD_MAX_DEPTH} levels deep."
                )
            if containers > HARD_MAX_CONTAINERS:
                raise CriteriaError("$", "The criteria are far too large.")
            stack.extend((child, depth + 1, (where, key, False)) for key, child in node.items())
        elif isinstance(node, list):
            bound += 2 + 2 * len(node)  # "[]" and ", "
            containers += 1
            if depth > HARD_MAX_DEPTH:
                raise CriteriaError(
                    "$", f"The criteria are nested more than {HARD_MAX_DEPTH} levels deep."
                )
            if containers > HARD_MAX_CONTAINERS:
                raise CriteriaError("$", "The criteria are far too large.")
            stack.extend((child, depth + 1, (where, i, True)) for i, child in enumerate(node))
        else:
            problem = scalar_problem(node)
            if problem:
                raise CriteriaError(_path(where), problem)
            if isinstance(node, str):
                bound += _text_bound(node)
            elif node is None or isinstance(node, bool | int | float):
                # finite numbers within ±2**53 (scalar_problem): at most 24 characters
                bound += 25
            else:
                exact = True
    if exact or bound > MAX_CRITERIA_BYTES:
        size = len(json.dumps(tree, default=str))
        if size > MAX_CRITERIA_BYTES:
            raise CriteriaError(
                "$", f"The criteria are {size // 1024} KB; at most {MAX_CRITERIA_BYTES // 1024} KB."
            )


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_DIGITS = re.compile("[0-9]{16}")  # a number that may pass ±2**53 (or any long digits)


def _plainly_within_bounds(tree: dict[str, Any]) -> bool:
    """The common case at C speed: the tree's JSON has no NUL, no lone surrogate, no NaN or
    infinity (`allow_nan=False` raises), no number that may pass the limit (16 digits, or
    an exponent such as 1e+16), at most HARD_MAX_DEPTH brackets (so no deeper nesting and
    fewer containers than the limit), and a size under the limit even if every character
    were escaped. False means "walk it", not "invalid": brackets, digits or escapes inside
    strings only cost the exact walk."""
    try:
        text = _ENCODER.encode(tree)
    except (TypeError, ValueError, RecursionError):
        return False
    if text.count("{") + text.count("[") > HARD_MAX_DEPTH or "e+" in text:
        return False
    if "\\u0000" in text:  # a NUL (json writes control characters escaped)
        return False
    if text.isascii():
        if len(text) > MAX_CRITERIA_BYTES:
            return False
    elif len(text) * 12 > MAX_CRITERIA_BYTES or _SURROGATE.search(text):
        return False
    # Counting is cheaper than searching for a run: fewer than 16 digits hold no run of 16.
    return sum(map(text.count, "0123456789")) < 16 or _LONG_DIGITS.search(text) is None


def _text_bound(text: str) -> int:
    """At least the length of `text` as ASCII-escaped JSON: an ASCII character takes at
    most 6 (a \\u00XX control), any other at most 12 (a surrogate pair)."""
    return len(text) * (6 if text.isascii() else 12) + 2


def _path(where: Any) -> str:
    """The JSON path (`$.all[0].value`) of a node `precheck` reached by `where`."""
    parts: list[str] = []
    while where is not None:
        where, key, index = where
        parts.append(f"[{key}]" if index else f".{key}")
    return "$" + "".join(reversed(parts))


@contextmanager
def recursion_guard() -> Iterator[None]:
    """Turn a RecursionError (e.g. a long chain of segment references) into a CriteriaError."""
    try:
        yield
    except RecursionError as exc:
        raise CriteriaError("$", "The criteria are nested too deeply.") from exc


# -- the parser's checks: each returns the message for a breach, or None ---------------------


def depth_problem(depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return f"The criteria are nested too deeply (more than {MAX_DEPTH} levels)."
    return None


def nodes_problem(nodes: int) -> str | None:
    if nodes > MAX_NODES:
        return f"The criteria have {nodes} nodes; the limit is {MAX_NODES}."
    return None


def string_problem(text: str) -> str | None:
    if len(text) > MAX_STRING:
        return f"Text values are limited to {MAX_STRING} characters."
    return text_problem(text)


def text_problem(text: str) -> str | None:
    match = _UNSTORABLE_TEXT.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Text must not contain NUL characters."
    return "Text must be valid Unicode (no lone surrogates such as \\ud800)."


def number_problem(value: float | int) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "Numbers must be finite (no NaN or Infinity)."
    if abs(value) > MAX_ABS_NUMBER:
        return f"Numbers are limited to ±{MAX_ABS_NUMBER:,}."
    return None


def scalar_problem(value: Any) -> str | None:
    """Why a leaf of a criteria tree can never be valid (unstorable text, NaN, huge number)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_problem(value)
    return None


def list_problem(items: Sized, limit: int = MAX_IN_VALUES) -> str | None:
    if len(items) > limit:
        return f"Lists are limited to {limit:,} values; this one has {len(items):,}."
    return None


def pattern_problem(pattern: str) -> str | None:
    if len(pattern) > MAX_PATTERN:
        return f"Patterns are limited to {MAX_PATTERN} characters."
    return None


def event_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name or len(name) > MAX_EVENT_NAME:
        return f"The event name must be text of 1 to {MAX_EVENT_NAME} characters."
    return text_problem(name)
