"""The regular-expression subset `matches` accepts.

In memory and on SQLite a pattern runs on RE2; on PostgreSQL it runs on PostgreSQL's own
engine (ARE), because counts must stay in SQL. The two read some constructs differently
(`\\b` is a word boundary in RE2 but a backspace in ARE, `\\x41B` is two characters in RE2
and one in ARE, `\\w` and `[[:alpha:]]` are ASCII in RE2 but locale-aware in ARE, ARE caps
repetition counts at 255). So that a segment's count always equals its in-memory
membership, patterns are limited to constructs both engines read alike.
"""

from __future__ import annotations

import re

# Escapes of letters both engines read alike; anything else escaped must be punctuation.
PORTABLE_LETTER_ESCAPES = frozenset("nrtfv")
MAX_REPEAT = 255  # PostgreSQL's limit (DUPMAX); RE2 allows 1000
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")

_HINTS = {
    "d": "use [0-9]",
    "D": "use [^0-9]",
    "w": "use [A-Za-z0-9_]",
    "W": "use [^A-Za-z0-9_]",
    "s": "use [ \\t\\n\\r\\f\\v]",
    "S": "use [^ \\t\\n\\r\\f\\v]",
    "b": "anchor with ^ and $ or spell out the neighbouring characters",
    "B": "spell out the neighbouring characters",
}


def portable_regex_problem(pattern: str) -> str | None:
    """Why `pattern` is outside the portable subset, or None when it is inside."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return "A pattern cannot end with a backslash."
            nxt = pattern[i + 1]
            if nxt.isalnum() and nxt not in PORTABLE_LETTER_ESCAPES:
                hint = _HINTS.get(nxt)
                return f"The escape \\{nxt} is not supported" + (f": {hint}." if hint else ".")
            i += 2
            continue
        if pattern.startswith("[[:", i) or pattern.startswith("[:", i):
            return "POSIX classes like [[:alpha:]] are not supported: list the characters."
        if pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
            return "Only (?:…) groups are supported; for case, use the case-sensitive switch."
        i += 1
    for match in _REPEAT.finditer(pattern):
        low, high = match.group(1), match.group(2)
        if int(low) > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
            return f"Repetition counts are limited to {MAX_REPEAT}."
    return None
