"""Ids that stress the hash: empty, non-ASCII, astral (surrogate pairs in UTF-16), long.

Shared by make_growthbook_vectors.py (GrowthBook's answers for them are frozen in the
vectors) and tests/segments/test_bucketing.py (the SQL function must agree on them)."""

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
