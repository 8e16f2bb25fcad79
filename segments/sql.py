"""Which stored profiles match a rule? Validated criteria nodes compiled into a Django Q
over `segments.models.Profile`: what `Rule.to_q()` returns once `SegmentsConfig.ready()`
has registered `to_q` with `segments.criteria.set_sql_compiler` (the criteria package
itself knows no Django)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any, Literal

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    Exists,
    Expression,
    F,
    OuterRef,
    Q,
    Subquery,
)

from segments.criteria.nodes import Condition, EventNode, Group, Rollout, SegmentRef, StaticSegment
from segments.criteria.types import FieldType
from segments.criteria.values import MAX_REGEX_INPUT, NUMBER_TEXT, as_version, epoch_seconds
from segments.models import Event, StaticMember

# visitor.* fields are Profile columns; `visitor.id`, the unit rollouts hash, is the
# person's bucketing id (`BUCKETING_UNIT`), as in a decide.
VISITOR_COLUMNS = {
    "user_id": "user_id",
    "visit_count": "visit_count",
    "first_seen": "first_seen",
    "last_seen": "last_seen",
    "consent": "consent",
}


class BucketingUnit(Expression):
    """The bucketing id once fixed, else the user id (segments.models.Profile.bucketing_id),
    as SQL without parameters: the fragments that read it may repeat it."""

    def __init__(self) -> None:
        super().__init__(output_field=CharField())
        self.sources = [F("bucketing_id"), F("user_id")]

    def get_source_expressions(self) -> list[Any]:
        return self.sources

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.sources = list(exprs)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        (unit, p1), (user, p2) = (compiler.compile(s) for s in self.sources)
        return f"COALESCE(NULLIF({unit}, ''), {user})", [*p1, *p2]


BUCKETING_UNIT = BucketingUnit()
ROOT_COLUMNS = {"profile": "traits", "context": "last_context", "properties": "properties"}

# Every condition becomes one SQL boolean, wrapped in COALESCE(..., false) under a NOT, so
# a missing or unreadable value is false (never NULL) and `none` (NOT) stays exact. Values
# are read with the same rules as in memory: JSON type checks per vendor, and registered
# SQL functions (`personalize_*`, SQLite: segments.dbfunctions; PostgreSQL: migration 0002)
# for case folding, dates, versions, distances, regular expressions and rollout hashing.


class SqlBool(Expression):
    """A boolean SQL fragment built per vendor from compiled source expressions."""

    def __init__(self, build: Any, *sources: Any, exact: bool = True) -> None:
        super().__init__(output_field=BooleanField())
        self.build = build
        self.exact = exact
        self.sources = list(sources)

    def get_source_expressions(self) -> list[Any]:
        return self.sources

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.sources = list(exprs)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        compiled = [compiler.compile(s) for s in self.sources]
        sql, params = self.build(connection.vendor, compiled)
        if not self.exact:  # outside NOT a NULL filters like false; bare SQL stays indexable
            return f"({sql})", list(params)
        return f"COALESCE(({sql}), false)", list(params)


def _sql_true(vendor: str, src: list[Any]) -> tuple[str, list[Any]]:
    return "1=1", []


def _sql_false(vendor: str, src: list[Any]) -> tuple[str, list[Any]]:
    return "1=0", []


def _always(value: bool) -> Q:
    # Explicit SQL rather than an empty Q(): Django drops empty Qs when combining with |.
    return Q(SqlBool(_sql_true if value else _sql_false))


# -- reading JSON values ---------------------------------------------------------------------
_PG_NUMBER_TEXT = f"^{NUMBER_TEXT}$"  # the same text a number field reads as a number


class Reader:
    """SQL snippets that read one field (JSON path or column) for one vendor."""

    def __init__(self, vendor: str, col: str, keys: tuple[str, ...] | None) -> None:
        self.pg = vendor == "postgresql"
        self.col, self.keys = col, keys
        if keys is not None:
            if self.pg and len(keys) == 1:  # -> is cheaper than #> for one key
                self.j = f"({col} -> '{keys[0]}')"
                self.t = f"({col} ->> '{keys[0]}')"
            elif self.pg:
                self.j = f"({col} #> '{{{','.join(keys)}}}')"
                self.t = f"({col} #>> '{{{','.join(keys)}}}')"
            else:
                self.p = "'$" + "".join(f'."{k}"' for k in keys) + "'"

    def sub(self, key: str) -> Reader:
        return Reader("postgresql" if self.pg else "sqlite", self.col, (*self.keys, key))

    def typeof(self) -> str:
        return f"jsonb_typeof({self.j})" if self.pg else f"json_type({self.col}, {self.p})"

    def missing(self) -> str:
        return f"({self.typeof()} IS NULL OR {self.typeof()} = 'null')"

    # Stored values are read as the field's type where they can be (values.read_number,
    # read_bool, read_version): "27" is a number, "true" a boolean, 17 a version.
    def number(self) -> str:
        if self.keys is None:
            return self.col
        if self.pg:
            return (
                f"(CASE {self.typeof()} WHEN 'number' THEN ({self.t})::float8 "
                f"WHEN 'string' THEN (CASE WHEN {self.t} ~ '{_PG_NUMBER_TEXT}' "
                f"THEN ({self.t})::float8 END) END)"
            )
        return (
            f"(CASE {self.typeof()} WHEN 'integer' THEN json_extract({self.col}, {self.p}) "
            f"WHEN 'real' THEN json_extract({self.col}, {self.p}) "
            f"WHEN 'text' THEN personalize_number(json_extract({self.col}, {self.p})) END)"
        )

    def string(self) -> str:
        if self.keys is None:
            return self.col
        if self.pg:
            return f"(CASE WHEN {self.typeof()} = 'string' THEN {self.t} END)"
        return f"(CASE WHEN {self.typeof()} = 'text' THEN json_extract({self.col}, {self.p}) END)"

    def boolean(self) -> str:
        if self.keys is None:
            return self.col
        if self.pg:
            word = f"lower(btrim({self.t}, E' \\t\\n\\r'))"
            return (
                f"(CASE {self.typeof()} WHEN 'boolean' THEN ({self.t} = 'true') "
                f"WHEN 'string' THEN (CASE {word} WHEN 'true' THEN true WHEN 'false' THEN false "
                f"END) END)"
            )
        word = f"lower(trim(json_extract({self.col}, {self.p}), ' ' || char(9, 10, 13)))"
        return (
            f"(CASE {self.typeof()} WHEN 'true' THEN 1 WHEN 'false' THEN 0 "
            f"WHEN 'text' THEN (CASE {word} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END) END)"
        )

    def version(self) -> str:
        """The version text: a string, or a whole non-negative number's digits."""
        if self.keys is None:
            return self.col
        if self.pg:
            return (
                f"(CASE {self.typeof()} WHEN 'string' THEN {self.t} "
                f"WHEN 'number' THEN (CASE WHEN {self.t} ~ '^[0-9]+$' THEN {self.t} END) END)"
            )
        return (
            f"(CASE {self.typeof()} WHEN 'text' THEN json_extract({self.col}, {self.p}) "
            f"WHEN 'integer' THEN CAST(json_extract({self.col}, {self.p}) AS TEXT) END)"
        )

    def when(self, part: str) -> str:
        """part: ts (epoch seconds), day (epoch of the wall date), hour, dow (ISO weekday)."""
        if self.keys is None and self.pg:  # a timestamptz column, read in UTC
            utc = f"({self.col} AT TIME ZONE 'UTC')"
            return {
                "ts": f"extract(epoch FROM {self.col})::float8",
                "day": f"(({utc})::date - DATE '1970-01-01') * 86400.0::float8",
                "hour": f"extract(hour FROM {utc})::int",
                "dow": f"extract(isodow FROM {utc})::int",
            }[part]
        return f"personalize_when({self.string()}, '{part}')"


def _fold(expr: str, cs: bool) -> str:
    return expr if cs else f"personalize_lower({expr})"


def _in(pg: bool, expr: str, values: list[Any]) -> tuple[str, list[Any]]:
    if pg:
        return f"{expr} = ANY(%s)", [values]
    return f"{expr} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]


_CMP = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _condition_sql(c: Condition, r: Reader, now_ts: float) -> tuple[str, list[Any]]:
    op, t, pg = c.op, c.value, r.pg
    if op == "is_not_set":
        return ("false" if r.keys is None else r.missing()), []
    ty = c.type
    if ty == "any":  # untyped event property: is_set
        return f"NOT {r.missing()}", []
    if ty == "list":
        f = "e.v #>> '{}'" if pg else "e.value"
        item = _fold(f, c.case_sensitive)
        is_str = "jsonb_typeof(e.v) = 'string'" if pg else "e.type = 'text'"
        src = f"jsonb_array_elements({r.j}) e(v)" if pg else f"json_each({r.col}, {r.p}) e"
        guard = f"{r.typeof()} = 'array'"
        if op == "is_set":
            return guard, []
        vals = sorted(t)
        cond, params = _in(pg, item, vals)
        if op == "contains_any":
            sql = f"EXISTS (SELECT 1 FROM {src} WHERE {is_str} AND {cond})"
            return f"CASE WHEN {guard} THEN {sql} END", params
        sql = f"(SELECT count(DISTINCT {item}) FROM {src} WHERE {is_str} AND {cond}) = %s"
        return f"CASE WHEN {guard} THEN {sql} END", [*params, len(vals)]
    if ty == "geo":
        lat, lng = r.sub("lat"), r.sub("lng")
        guard = (
            f"{r.typeof()} = 'object' AND {lat.number()} IS NOT NULL AND {lng.number()} IS NOT NULL"
        )
        if op == "is_set":
            return guard, []
        la, ln, km = t
        dist = f"personalize_km({lat.number()}, {lng.number()}, %s, %s)"
        return f"CASE WHEN {guard} THEN {dist} <= %s END", [la, ln, km]
    if ty in ("date", "datetime"):
        part = "day" if ty == "date" else "ts"
        if op == "is_set":
            return f"{r.when(part)} IS NOT NULL", []
        if op in _CMP:
            return f"{r.when(part)} {_CMP[op]} %s", [float(t)]
        if op == "between":
            return f"{r.when(part)} BETWEEN %s AND %s", [float(t[0]), float(t[1])]
        if op == "within_last":
            return f"{r.when(part)} BETWEEN %s AND %s", [now_ts - t, now_ts]
        if op == "more_than_ago":
            return f"{r.when(part)} < %s", [now_ts - t]
        if op == "hour_between":
            h, (lo, hi) = r.when("hour"), t
            joiner = "AND" if lo <= hi else "OR"
            return f"({h} >= %s {joiner} {h} < %s)", [lo, hi]
        if op == "day_of_week_in":
            return f"{r.when('dow')} IN ({', '.join(str(int(d)) for d in sorted(t))})", []
    if ty == "version":
        s = r.version()
        if op == "is_set":
            return f"personalize_version_cmp({s}, {s}) IS NOT NULL", []
        if op == "between":
            return (
                f"personalize_version_cmp({s}, %s) >= 0 AND personalize_version_cmp({s}, %s) <= 0",
                [t[0], t[1]],
            )
        assert as_version(t) is not None
        return f"personalize_version_cmp({s}, %s) {_CMP[op]} 0", [t]
    if ty == "boolean":
        b = r.boolean()
        if op == "is_set":
            return f"{b} IS NOT NULL", []
        if op in ("is_true", "is_false"):
            return f"{b} = %s", [op == "is_true"]
        return f"{b} {_CMP[op]} %s", [t]
    if ty == "number":
        n = r.number()
        if op == "is_set":
            return f"{n} IS NOT NULL", []
        if op in _CMP:
            return f"{n} {_CMP[op]} %s", [float(t)]
        if op == "between":
            return f"{n} BETWEEN %s AND %s", [float(t[0]), float(t[1])]
        vals = sorted(float(x) for x in t)
        sql, params = _in(pg, n, vals)
        return (sql if op == "in" else f"{n} IS NOT NULL AND NOT ({sql})"), params
    # string / enum
    raw = r.string()
    if op == "is_set":
        return f"{raw} IS NOT NULL", []
    if op == "matches":
        if pg:
            regex_op = "~" if c.case_sensitive else "~*"
            return f"char_length({raw}) <= %s AND {raw} {regex_op} %s", [MAX_REGEX_INPUT, t]
        return f"personalize_regex({raw}, %s, %s)", [t, c.case_sensitive]
    s = _fold(raw, c.case_sensitive)
    if op in ("eq", "neq"):
        return f"{s} {_CMP[op]} %s", [t]
    if op in ("in", "not_in"):
        sql, params = _in(pg, s, sorted(t))
        return (sql if op == "in" else f"{s} IS NOT NULL AND NOT ({sql})"), params
    if not t:  # the empty string is inside every string
        return (f"{s} IS NOT NULL" if op != "not_contains" else "1=0"), []
    if op in ("contains", "not_contains"):
        pos = f"strpos({s}, %s)" if pg else f"instr({s}, %s)"
        return f"{pos} {'>' if op == 'contains' else '='} 0", [t]
    if op == "starts_with":
        return (f"starts_with({s}, %s)" if pg else f"substr({s}, 1, length(%s)) = %s"), (
            [t] if pg else [t, t]
        )
    if op == "ends_with":
        if pg:
            return f"right({s}, char_length(%s)) = %s", [t, t]
        return f"substr({s}, -length(%s)) = %s", [t, t]
    raise AssertionError(f"unhandled operator {op}")  # pragma: no cover


def _condition_q(c: Condition, now_ts: float, neg: bool) -> Q:
    if c.root == "visitor":
        key = c.keys[0]
        if key == "is_known":  # every stored profile is a known visitor
            truth = {"is_true": True, "is_false": False, "is_set": True, "is_not_set": False}
            return _always(truth.get(c.op, (c.value is True) == (c.op == "eq")))
        column = BUCKETING_UNIT if key == "id" else F(VISITOR_COLUMNS[key])
        keys = None
    else:
        column, keys = F(ROOT_COLUMNS[c.root]), c.keys

    def build(vendor: str, src: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
        return _condition_sql(c, Reader(vendor, src[0][0], keys), now_ts)

    return Q(SqlBool(build, column, exact=neg))


# How an event condition is counted, chosen per count operator so that PostgreSQL plans a
# join instead of running a correlated COUNT once per profile:
# - "exists":     at least one event            -> EXISTS (...)            (semi-join)
# - "none":       no event                      -> NOT EXISTS (...)        (anti-join)
# - "in":         a count range without zero    -> id IN (GROUP BY … HAVING range)
# - "not_in":     a count range including zero  -> id NOT IN (GROUP BY … HAVING complement)
# - "always" / "never": ranges every / no count falls in (e.g. gte 0, lt 0).
EventForm = Literal["exists", "none", "in", "not_in", "always", "never"]


def _count_range(op: str, v: Any) -> tuple[int, float]:
    """The counts an event condition accepts, [lo, hi] (counts and values are whole
    numbers of at least 0, as the parser checks)."""
    if op == "between":
        return int(v[0]), int(v[1])
    return {
        "gte": (int(v), math.inf),
        "gt": (int(v) + 1, math.inf),
        "eq": (int(v), int(v)),
        "lte": (0, int(v)),
        "lt": (0, int(v) - 1),
    }[op]


def event_form(op: str, v: Any) -> tuple[EventForm, int, float]:
    """The SQL form for `count <op> v`, and the accepted count range [lo, hi]."""
    lo, hi = _count_range(op, v)
    if lo > hi:
        return "never", lo, hi
    if lo == 0:
        if hi == math.inf:
            return "always", lo, hi
        return ("none" if hi == 0 else "not_in"), lo, hi
    return ("exists" if lo == 1 and hi == math.inf else "in"), lo, hi


def _event_q(e: EventNode, now: datetime, now_ts: float, neg: bool) -> Q:
    qs = Event.objects.filter(name=e.name)
    if e.within_seconds is not None:
        qs = qs.filter(occurred_at__gte=now - timedelta(seconds=e.within_seconds))
    if e.where is not None:
        qs = qs.filter(_node_q(e.where, now, now_ts, False))
    form, lo, hi = event_form(e.count_op, e.count_value)
    if form in ("always", "never"):
        return _always(form == "always")
    if form in ("exists", "none"):
        found = Exists(qs.filter(profile_id=OuterRef("pk")).order_by())
        return Q(found) if form == "exists" else ~Q(found)
    counted = qs.filter(profile_id__isnull=False).order_by().values("profile_id")
    counted = counted.annotate(n=Count("*"))  # COUNT(*): an index-only scan can answer
    if form == "in":
        having = Q(n__gte=lo) if hi == math.inf else Q(n__gte=lo, n__lte=hi)
        return Q(pk__in=counted.filter(having).values("profile_id"))
    # A range from zero: the profiles counted above it are excluded (NULL-free subquery).
    return ~Q(pk__in=counted.filter(n__gt=hi).values("profile_id"))


def _static_q(s: StaticSegment) -> Q:
    if s.segment_id is not None:
        members = StaticMember.objects.filter(segment_id=s.segment_id)
    elif s.site_id is not None:
        members = StaticMember.objects.filter(segment__site_id=s.site_id, segment__key=s.key)
    else:
        return Q(user_id__in=sorted(s.user_ids)) if s.user_ids else _always(False)
    return Q(user_id__in=Subquery(members.values("user_id")))


def _rollout_q(r: Rollout, neg: bool) -> Q:
    salt, limit = r.salt, r.percent / 100.0

    def build(vendor: str, src: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
        return f"personalize_hash_unit(%s, {src[0][0]}) < %s", [salt, limit]

    return Q(SqlBool(build, BUCKETING_UNIT, exact=neg))


def _node_q(node: Any, now: datetime, now_ts: float, neg: bool) -> Q:
    """`neg`: under a NOT (`none`), where every leaf must be strictly true/false."""
    if isinstance(node, Group):
        inner = neg or node.kind == "none"
        parts = [_node_q(ch, now, now_ts, inner) for ch in node.children]
        if node.kind == "all":
            return reduce(lambda a, b: a & b, parts) if parts else _always(True)
        anyq = reduce(lambda a, b: a | b, parts) if parts else _always(False)
        return anyq if node.kind == "any" else ~anyq
    if isinstance(node, Condition):
        return _condition_q(node, now_ts, neg)
    if isinstance(node, EventNode):
        return _event_q(node, now, now_ts, neg)
    if isinstance(node, SegmentRef):
        if isinstance(node.target, StaticSegment):
            return _static_q(node.target)
        return _node_q(node.target, now, now_ts, neg)
    if isinstance(node, Rollout):
        return _rollout_q(node, neg)
    raise TypeError(node)  # pragma: no cover


def to_q(root: Any, now: datetime) -> Q:
    """A Q selecting the profiles that match the parsed tree `root` at time `now`."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return _node_q(root, now, epoch_seconds(now), False)


def profile_index_sql(name: str, field: str, type_: FieldType, case_sensitive: bool = False) -> str:
    """PostgreSQL DDL for an expression index that to_q()'s SQL for `field` can use.

    The indexed expression is exactly what to_q() emits for a condition on that field
    (e.g. `profile.city` eq/in, or `profile.age` comparisons), so the planner matches it.
    """
    root, *keys = field.split(".")
    if root not in ("profile", "context") or not keys:
        raise ValueError("only profile.* and context.* fields are stored as JSON")
    r = Reader("postgresql", ROOT_COLUMNS[root], tuple(keys))
    if type_ in ("string", "enum"):
        expr = _fold(r.string(), case_sensitive)
    elif type_ == "number":
        expr = r.number()
    else:
        raise ValueError(f"no index recipe for {type_} fields")
    return f'CREATE INDEX IF NOT EXISTS "{name}" ON segments_profile (site_id, ({expr}))'
