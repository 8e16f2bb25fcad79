"""Parse and validate a criteria tree into `nodes`, collecting every error with its JSON path."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, cast

import re2

from segments.criteria import guards
from segments.criteria import values as V
from segments.criteria.catalog import KEY_RE, ROOTS, FieldSpec
from segments.criteria.errors import CriteriaError
from segments.criteria.nodes import (
    Condition,
    EventNode,
    Group,
    Parsed,
    Rollout,
    SegmentRef,
    StaticSegment,
)
from segments.criteria.operators import (
    ALL_OPS,
    CASE_OPS,
    COUNT_OPS,
    DAY_NAMES,
    DURATION_UNITS,
    NO_VALUE_OPS,
    OPS_BY_TYPE,
)
from segments.criteria.regex import portable_regex_problem
from segments.criteria.types import ConditionType, CountOperator, FieldRoot, GroupKind, Operator

GROUP_KINDS: tuple[GroupKind, ...] = ("all", "any", "none")
COND_KEYS = frozenset({"field", "op", "value", "case_sensitive"})
EVENT_KEYS = frozenset({"event", "where", "count", "within_days"})


class _Invalid(Exception):
    """Internal: this node is invalid (the error is already recorded)."""


def _count_ok(x: Any) -> bool:
    return type(x) is int and 0 <= x <= guards.MAX_EVENT_COUNT


def _is_num(v: Any) -> bool:
    return V.as_number(v) is not None


def re2_options(case_sensitive: bool) -> Any:
    opts = re2.Options()
    opts.case_sensitive = case_sensitive
    # `.` matches a newline, as in PostgreSQL's default (non-newline-sensitive) mode.
    opts.dot_nl = True
    opts.max_mem = 8 << 20
    return opts


class Parser:
    def __init__(
        self,
        fields: dict[str, FieldSpec],
        segments: Mapping[str, Any] | None,
        segment_key: str | None,
        stack: tuple[str, ...] = (),
        cache: dict[str, Any] | None = None,
    ) -> None:
        self.fields = fields
        self.segments = segments or {}
        self.segment_key = segment_key
        self.stack = stack
        self.cache = cache if cache is not None else {}
        self.errors: list[CriteriaError] = []
        self.nodes = 0
        self.parsed = Parsed(root=None)

    # -- entry ---------------------------------------------------------------------------
    def parse(self, tree: Any) -> Parsed:
        with contextlib.suppress(_Invalid):
            self.parsed.root = self.node(tree, "$", 1)
        too_many = guards.nodes_problem(self.nodes)
        if too_many:
            self.errors.insert(0, CriteriaError("$", too_many))
        if self.errors:
            first = self.errors[0]
            raise CriteriaError(first.path, first.message, list(self.errors))
        return self.parsed

    def fail(self, path: str, message: str) -> _Invalid:
        self.errors.append(CriteriaError(path, message))
        return _Invalid()

    # -- nodes ---------------------------------------------------------------------------
    def node(self, tree: Any, path: str, depth: int, in_where: bool = False) -> Any:
        self.nodes += 1
        too_deep = guards.depth_problem(depth)
        if too_deep:
            raise self.fail(path, too_deep)
        if not isinstance(tree, Mapping):
            raise self.fail(path, 'Each rule must be an object such as {"all": [...]}.')
        if not tree:
            raise self.fail(path, 'This rule is empty; use {"all": []} to match everyone.')
        kinds = [k for k in GROUP_KINDS if k in tree]
        if kinds:
            if len(tree) != 1:
                extra = sorted(k for k in tree if k != kinds[0])
                raise self.fail(
                    path, f"A group has exactly one key ({kinds[0]}); unexpected: {extra}."
                )
            return self.group(kinds[0], tree[kinds[0]], f"{path}.{kinds[0]}", depth, in_where)
        if "field" in tree:
            return self.condition(tree, path, in_where)
        if in_where:
            raise self.fail(path, "Inside `where` only property conditions and groups are allowed.")
        if "event" in tree:
            return self.event(tree, path, depth)
        if "segment" in tree:
            return self.segment(tree, path)
        if "rollout" in tree:
            return self.rollout(tree, path)
        raise self.fail(
            path,
            f"Unknown rule {sorted(tree)!r}: expected all/any/none, field, event, segment"
            " or rollout.",
        )

    def group(self, kind: GroupKind, items: Any, path: str, depth: int, in_where: bool) -> Group:
        if not isinstance(items, list):
            raise self.fail(path, f"`{kind}` must be a list of rules.")
        children = []
        for i, child in enumerate(items):
            try:
                children.append(self.node(child, f"{path}[{i}]", depth + 1, in_where))
            except _Invalid:
                continue
        return Group(kind, children, path.rsplit(".", 1)[0] or "$")

    def _extra(
        self, tree: Mapping[str, Any], allowed: frozenset[str], path: str, what: str
    ) -> None:
        extra = sorted(set(tree) - allowed)
        if extra:
            raise self.fail(path, f"Unexpected key(s) {extra} in a {what}.")

    # -- conditions ----------------------------------------------------------------------
    def condition(self, tree: Mapping[str, Any], path: str, in_where: bool) -> Condition:
        self._extra(tree, COND_KEYS, path, "condition")
        field, op = tree.get("field"), tree.get("op")
        if not isinstance(field, str):
            raise self.fail(f"{path}.field", "The field must be a text path such as profile.age.")
        parts = field.split(".")
        root, keys = cast(FieldRoot, parts[0]), tuple(parts[1:])  # the root is checked below
        if not keys or not all(KEY_RE.fullmatch(k) for k in keys):
            raise self.fail(f"{path}.field", f"'{field}' is not a valid field path.")
        if not isinstance(op, str) or op not in ALL_OPS:
            raise self.fail(f"{path}.op", f"Unknown operator {op!r}.")
        cs = tree.get("case_sensitive", False)
        if not isinstance(cs, bool):
            raise self.fail(f"{path}.case_sensitive", "case_sensitive must be true or false.")
        has_value = "value" in tree and tree["value"] is not None
        value = tree.get("value")
        spec = None  # event properties have no catalog entry
        if in_where:
            if root != "properties":
                raise self.fail(
                    f"{path}.field", "Conditions inside `where` test properties.<name>."
                )
            type_ = self._property_type(op, value, has_value, path)
        else:
            if root not in ROOTS:
                raise self.fail(
                    f"{path}.field",
                    f"Unknown field '{field}': fields start with profile., context. or visitor.",
                )
            spec = self.fields.get(field)
            if spec is None:
                raise self.fail(
                    f"{path}.field", f"Unknown field '{field}'. Add it to the field catalog first."
                )
            type_ = spec.type
            if op not in OPS_BY_TYPE.get(type_, ()):
                raise self.fail(
                    f"{path}.op", f"The operator '{op}' does not apply to {type_} field '{field}'."
                )
        if op in NO_VALUE_OPS:
            if has_value:
                raise self.fail(f"{path}.value", f"'{op}' takes no value.")
            operand = None
        else:
            if not has_value:
                raise self.fail(f"{path}.value", f"'{op}' needs a value.")
            operand = self.operand(type_, op, value, cs, f"{path}.value", spec)
        if op in ("within_last", "more_than_ago"):
            self.parsed.uses_now = True
        return Condition(path, field, root, keys, type_, op, operand, cs and op in CASE_OPS, value)

    def _property_type(self, op: Operator, value: Any, has_value: bool, path: str) -> ConditionType:
        if op in ("is_set", "is_not_set"):
            return "any"
        if op in ("is_true", "is_false"):
            return "boolean"
        if op in ("lt", "lte", "gt", "gte", "between"):
            return "number"
        if op in ("contains", "not_contains", "starts_with", "ends_with", "matches"):
            return "string"
        if op in ("eq", "neq", "in", "not_in"):
            sample = (
                value[0] if op in ("in", "not_in") and isinstance(value, list) and value else value
            )
            if isinstance(sample, bool):
                if op in ("in", "not_in"):
                    raise self.fail(
                        f"{path}.value", "Use eq with true or false for yes/no properties."
                    )
                return "boolean"
            if isinstance(sample, str):
                return "string"
            if _is_num(sample):
                return "number"
            if not has_value:
                raise self.fail(f"{path}.value", f"'{op}' needs a value.")
            raise self.fail(
                f"{path}.value", "Event property values must be text, numbers or true/false."
            )
        raise self.fail(f"{path}.op", f"The operator '{op}' is not available for event properties.")

    def _str(self, v: Any, path: str, cs: bool, allow_empty: bool = True) -> str:
        if not isinstance(v, str):
            raise self.fail(path, "Expected a text value.")
        too_long = guards.string_problem(v)
        if too_long:
            raise self.fail(path, too_long)
        if not allow_empty and not v:
            raise self.fail(path, "The text must not be empty.")
        return v if cs else V.fold(v)

    def _list(self, v: Any, path: str, limit: int = guards.MAX_IN_VALUES) -> list[Any]:
        if not isinstance(v, list) or not v:
            raise self.fail(path, "Expected a non-empty list of values.")
        too_long = guards.list_problem(v, limit)
        if too_long:
            raise self.fail(path, too_long)
        return v

    def _num(self, v: Any, path: str) -> float | int:
        n = V.as_number(v)
        if n is None:
            raise self.fail(path, "Expected a number.")
        out_of_range = guards.number_problem(n)
        if out_of_range:
            raise self.fail(path, out_of_range)
        return n

    def _when(self, type_: ConditionType, v: Any, path: str) -> float:
        w = V.parse_when(v) if isinstance(v, str) else None
        if w is None:
            example = "2026-05-01" if type_ == "date" else "2026-05-01T18:00:00+02:00"
            raise self.fail(path, f"Expected a {type_} such as {example}.")
        return w[1] if type_ == "date" else w[0]

    def _version(self, v: Any, path: str) -> str:
        if V.as_version(v) is None:
            raise self.fail(path, "Expected a version such as 17.2 or 3.10.1.")
        return v

    def _range(self, v: Any, path: str, read: Any) -> tuple[Any, Any]:
        if not isinstance(v, list) or len(v) != 2:
            raise self.fail(path, "Expected a list of two values [from, to].")
        return read(v[0], f"{path}[0]"), read(v[1], f"{path}[1]")

    def operand(
        self, type_: ConditionType, op: Operator, v: Any, cs: bool, path: str, spec: Any
    ) -> Any:
        if type_ in ("string", "enum"):
            if op in ("in", "not_in"):
                items = self._list(v, path)
                out = [self._str(x, f"{path}[{i}]", cs) for i, x in enumerate(items)]
                for i, x in enumerate(items):
                    self._allowed(spec, x, f"{path}[{i}]")
                return frozenset(out)
            if op == "matches":
                if not isinstance(v, str) or not v:
                    raise self.fail(path, "Expected a regular expression.")
                problem = guards.pattern_problem(v) or portable_regex_problem(v)
                if problem:
                    raise self.fail(path, problem)
                try:
                    re2.compile(v, re2_options(cs))
                except Exception as exc:
                    raise self.fail(path, f"Invalid regular expression: {exc}") from None
                return v
            out = self._str(v, path, cs)
            if op in ("eq", "neq"):
                self._allowed(spec, v, path)
            return out
        if type_ == "number":
            if op in ("in", "not_in"):
                items = self._list(v, path)
                return frozenset(self._num(x, f"{path}[{i}]") for i, x in enumerate(items))
            if op == "between":
                lo, hi = self._range(v, path, self._num)
                if lo > hi:
                    raise self.fail(path, "The first value of between must not exceed the second.")
                return lo, hi
            return self._num(v, path)
        if type_ == "boolean":
            if not isinstance(v, bool):
                raise self.fail(path, "Expected true or false.")
            return v
        if type_ in ("date", "datetime"):
            if op in ("within_last", "more_than_ago"):
                return self._duration(v, path)
            if op == "day_of_week_in":
                return self._days(v, path)
            if op == "hour_between":
                return self._range(v, path, self._hour)
            if op == "between":
                lo, hi = self._range(v, path, lambda x, p: self._when(type_, x, p))
                if lo > hi:
                    raise self.fail(path, "The first date of between must not be after the second.")
                return lo, hi
            return self._when(type_, v, path)
        if type_ == "version":
            if op == "between":
                lo, hi = self._range(v, path, self._version)
                if V.version_cmp(lo, hi) > 0:
                    raise self.fail(
                        path, "The first version of between must not exceed the second."
                    )
                return lo, hi
            return self._version(v, path)
        if type_ == "list":
            items = self._list(v, path)
            return frozenset(self._str(x, f"{path}[{i}]", cs) for i, x in enumerate(items))
        if type_ == "geo":
            if not isinstance(v, Mapping) or set(v) != {"lat", "lng", "km"}:
                raise self.fail(path, 'Expected {"lat": .., "lng": .., "km": ..}.')
            lat, lng, km = (self._num(v[k], f"{path}.{k}") for k in ("lat", "lng", "km"))
            if not -90 <= lat <= 90 or not -180 <= lng <= 180:
                raise self.fail(path, "Latitude must be within ±90 and longitude within ±180.")
            if km <= 0:
                raise self.fail(f"{path}.km", "The radius must be more than 0 km.")
            return float(lat), float(lng), float(km)
        raise self.fail(path, f"Unsupported field type {type_!r}.")  # pragma: no cover

    def _allowed(self, spec: Any, v: Any, path: str) -> None:
        if spec is None or not spec.allowed_values or spec.type != "enum":
            return
        allowed = {V.fold(str(a)) for a in spec.allowed_values}
        if isinstance(v, str) and V.fold(v) not in allowed:
            raise self.fail(
                path, f"'{v}' is not one of the allowed values: {list(spec.allowed_values)}."
            )

    def _hour(self, v: Any, path: str) -> int:
        if type(v) is not int or not 0 <= v <= 24:
            raise self.fail(path, "Expected an hour from 0 to 24.")
        return v

    def _duration(self, v: Any, path: str) -> float:
        if not isinstance(v, Mapping) or not v or not set(v) <= set(DURATION_UNITS):
            raise self.fail(
                path, 'Expected a duration such as {"days": 7} (minutes, hours, days, weeks).'
            )
        total = 0.0
        for unit, n in v.items():
            n = self._num(n, f"{path}.{unit}")
            if n < 0:
                raise self.fail(f"{path}.{unit}", "Durations must not be negative.")
            total += n * DURATION_UNITS[unit]
        if total > guards.MAX_DURATION_SECONDS:
            raise self.fail(path, f"Durations are limited to {guards.MAX_WITHIN_DAYS:,} days.")
        return total

    def _days(self, v: Any, path: str) -> frozenset[int]:
        items = self._list(v, path, limit=7)
        out = set()
        for i, d in enumerate(items):
            if type(d) is int and 1 <= d <= 7:
                out.add(d)
            elif isinstance(d, str) and d.lower() in DAY_NAMES:
                out.add(DAY_NAMES[d.lower()])
            else:
                raise self.fail(
                    f"{path}[{i}]", "Expected a day: 1 (Monday) to 7 (Sunday) or a name."
                )
        return frozenset(out)

    # -- events, segments, rollouts ------------------------------------------------------
    def event(self, tree: Mapping[str, Any], path: str, depth: int) -> EventNode:
        self._extra(tree, EVENT_KEYS, path, "behaviour rule")
        name = tree["event"]
        bad_name = guards.event_name_problem(name)
        if bad_name:
            raise self.fail(f"{path}.event", bad_name)
        where = None
        if tree.get("where") is not None:
            w = tree["where"]
            if not isinstance(w, Mapping) or not any(k in w for k in GROUP_KINDS):
                raise self.fail(f"{path}.where", 'Expected a group such as {"all": [...]}.')
            where = self.node(w, f"{path}.where", depth + 1, in_where=True)
        count_op: CountOperator = "gte"
        count_value: Any = 1
        if tree.get("count") is not None:
            c = tree["count"]
            cpath = f"{path}.count"
            if not isinstance(c, Mapping) or set(c) - {"op", "value"} or "value" not in c:
                raise self.fail(cpath, 'Expected {"op": "gte", "value": 2}.')
            count_op = c.get("op", "gte")
            if not isinstance(count_op, str) or count_op not in COUNT_OPS:
                raise self.fail(f"{cpath}.op", f"Unknown count operator {count_op!r}.")
            cv = c["value"]
            if count_op == "between":
                if not (
                    isinstance(cv, list)
                    and len(cv) == 2
                    and all(map(_count_ok, cv))
                    and cv[0] <= cv[1]
                ):
                    raise self.fail(f"{cpath}.value", "Expected two whole numbers [from, to].")
                count_value = (cv[0], cv[1])
            else:
                if not _count_ok(cv):
                    raise self.fail(f"{cpath}.value", "Expected a whole number of at least 0.")
                count_value = cv
        seconds = None
        wd = tree.get("within_days")
        if wd is not None:
            if not _is_num(wd) or not 0 < wd <= guards.MAX_WITHIN_DAYS:
                raise self.fail(
                    f"{path}.within_days",
                    "Expected a number of days greater than 0, "
                    f"at most {guards.MAX_WITHIN_DAYS:,}.",
                )
            seconds = float(wd) * 86400.0
            self.parsed.uses_now = True
        return EventNode(path, name, where, count_op, count_value, seconds, wd)

    def segment(self, tree: Mapping[str, Any], path: str) -> SegmentRef:
        self._extra(tree, frozenset({"segment"}), path, "segment rule")
        key = tree["segment"]
        if not isinstance(key, str) or not key:
            raise self.fail(f"{path}.segment", "Expected a segment key.")
        if key in self.stack or key == self.segment_key:
            chain = " → ".join([*self.stack, key]) if self.stack else key
            raise self.fail(f"{path}.segment", f"Segment '{key}' refers back to itself ({chain}).")
        if key not in self.segments:
            raise self.fail(f"{path}.segment", f"Unknown segment '{key}'.")
        self.parsed.referenced_segments.add(key)
        target = self.segments[key]
        if isinstance(target, StaticSegment):
            return SegmentRef(path, key, target)
        if key not in self.cache:
            stack = (*self.stack, self.segment_key or "(this)") if not self.stack else self.stack
            sub = Parser(self.fields, self.segments, key, (*stack, key), self.cache)
            try:
                parsed = sub.parse(target)
            except CriteriaError as exc:
                msg = (
                    exc.message
                    if "refers back" in exc.message
                    else f"Segment '{key}' is invalid: {exc.message}"
                )
                raise self.fail(f"{path}.segment", msg) from None
            self.cache[key] = parsed
        parsed = self.cache[key]
        self.parsed.has_rollout |= parsed.has_rollout
        self.parsed.uses_now |= parsed.uses_now
        self.parsed.referenced_segments |= parsed.referenced_segments
        return SegmentRef(path, key, parsed.root)

    def rollout(self, tree: Mapping[str, Any], path: str) -> Rollout:
        self._extra(tree, frozenset({"rollout", "salt"}), path, "rollout")
        pct = tree["rollout"]
        if not _is_num(pct) or not 0 <= pct <= 100:
            raise self.fail(f"{path}.rollout", "Expected a percentage from 0 to 100.")
        salt = tree.get("salt")
        if salt is None:
            salt = self.segment_key
            if not salt:
                raise self.fail(f"{path}.salt", "A rollout outside a segment needs a salt.")
        elif not isinstance(salt, str) or not salt or guards.string_problem(salt):
            raise self.fail(f"{path}.salt", "The salt must be non-empty text.")
        self.parsed.has_rollout = True
        return Rollout(path, float(pct), salt)
