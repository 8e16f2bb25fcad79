"""What the API accepts as JSON: values PostgreSQL can store and any client can read back.

`json.loads` accepts NaN, Infinity and 1e400 (read as infinity), strings with lone
surrogates ("\\ud800") and NUL characters; PostgreSQL refuses all of them (jsonb has no
NaN, text no NUL, UTF-8 no surrogates), so they must be refused at the door with the
path of the value at fault, never discovered by the database as a 500. Pure: no Django.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# A signed 64-bit integer: what SQL compares and sorts without overflowing.
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
# Lone surrogates cannot be encoded as UTF-8; NUL cannot be stored in a text column.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A \u escape (the only way a lone surrogate or NUL gets through the JSON parser) or an
# integer literal long enough to leave the 64-bit range (2**63 has 19 digits).
_SUSPECT_TEXT = re.compile(r"\\u|\d{19}")
_SUSPECT_BYTES = re.compile(rb"\\u|\d{19}")


class UnsafeJSON(ValueError):
    """A value the API does not accept: `path` (`a.b[2]`, "" for the whole body) and why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    match = UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Must not contain NUL characters."
    return "Must be valid Unicode (no lone surrogates such as \\ud800)."


def number_problem(value: int | float) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            return "Numbers must be within the range of a 64-bit integer."
        return None
    if not math.isfinite(value):
        return "Numbers must be finite (no NaN or Infinity)."
    return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def find_problem(value: Any, path: str = "") -> UnsafeJSON | None:
    """The first value (or object key) in `value` that cannot be stored, or None.

    Iterative, so depth costs no recursion; callers bound depth and size separately."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return UnsafeJSON(where, problem)
        elif isinstance(node, int | float):
            problem = number_problem(node)
            if problem:
                return UnsafeJSON(where, problem)
        elif isinstance(node, dict):
            for key, child in node.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    # The path must itself be printable: escape the key.
                    return UnsafeJSON(_join(where, ascii(key)[1:-1]), f"Key: {problem}")
                stack.append((child, _join(where, str(key))))
        elif isinstance(node, list | tuple):
            stack.extend((child, _join(where, index)) for index, child in enumerate(node))
    return None


def _refuse_constant(name: str) -> Any:
    raise UnsafeJSON("", f"{name} is not valid JSON; numbers must be finite.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise UnsafeJSON("", f"The number {text[:40]} is too large.")
    return number


def loads(raw: bytes | str) -> Any:
    """`json.loads` that refuses NaN, Infinity and numbers too large for a double.

    Raises UnsafeJSON for those, ValueError (or RecursionError) for malformed JSON."""
    return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)


def loads_checked(raw: bytes | str) -> Any:
    """`loads`, then `find_problem` over the result, only when the text could hold an
    unstorable value (so a plain body costs one regex scan)."""
    value = loads(raw)
    suspect = _SUSPECT_BYTES if isinstance(raw, bytes) else _SUSPECT_TEXT
    if suspect.search(raw):  # type: ignore[arg-type]
        problem = find_problem(value)
        if problem is not None:
            raise problem
    return value
