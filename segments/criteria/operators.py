"""Which operators fit which field types, and what their operands look like."""

from __future__ import annotations

_EQ = {"eq", "neq"}
_IN = {"in", "not_in"}
_ORDER = {"lt", "lte", "gt", "gte", "between"}
_TEXT = {"contains", "not_contains", "starts_with", "ends_with", "matches"}
_SET = {"is_set", "is_not_set"}
_WHEN = _EQ | _ORDER | {"within_last", "more_than_ago", "day_of_week_in"}

OPS_BY_TYPE: dict[str, frozenset[str]] = {
    "string": frozenset(_EQ | _IN | _TEXT | _SET),
    "enum": frozenset(_EQ | _IN | _SET),
    "number": frozenset(_EQ | _IN | _ORDER | _SET),
    "boolean": frozenset(_EQ | {"is_true", "is_false"} | _SET),
    "date": frozenset(_WHEN | _SET),
    "datetime": frozenset(_WHEN | {"hour_between"} | _SET),
    "version": frozenset(_EQ | _ORDER | _SET),
    "list": frozenset({"contains_any", "contains_all"} | _SET),
    "geo": frozenset({"within_km"} | _SET),
    "any": frozenset(_SET),  # untyped event properties
}
ALL_OPS = frozenset().union(*OPS_BY_TYPE.values())
NO_VALUE_OPS = frozenset({"is_set", "is_not_set", "is_true", "is_false"})
CASE_OPS = frozenset({"eq", "neq", "in", "not_in", "contains_any", "contains_all"} | _TEXT)
COUNT_OPS = frozenset({"gte", "gt", "eq", "lte", "lt", "between"})

DAY_NAMES = {
    name: i
    for i, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue"),
            ("wednesday", "wed"),
            ("thursday", "thu"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ),
        start=1,
    )
    for name in names
}
DURATION_UNITS = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0, "weeks": 604800.0}
