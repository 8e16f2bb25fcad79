"""The criteria language (docs/criteria.md): parse, validate and compile segment criteria.

Pure package: nothing here imports Django. `Rule.to_q()` delegates to the SQL compiler that
the segments app registers with `set_sql_compiler` when Django starts (`segments.sql`).

    rule = compile_criteria(tree, fields=catalog)
    rule.matches(doc); rule.explain(doc); rule.to_q()
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from segments.criteria.catalog import (
    BUILTIN_FIELDS,
    TYPES,
    FieldSpec,
    FieldSpecs,
    normalize_fields,
)
from segments.criteria.codegen import code_cache_clear, generate, generate_many
from segments.criteria.compile_memory import compile_node
from segments.criteria.errors import CriteriaError
from segments.criteria.explain import explain as _explain
from segments.criteria.guards import MAX_DEPTH, MAX_IN_VALUES, MAX_NODES, MAX_PATTERN
from segments.criteria.labels import Labels
from segments.criteria.nodes import StaticSegment
from segments.criteria.parse import Parser
from segments.criteria.types import VisitorDocument
from segments.criteria.values import epoch_seconds

__all__ = [
    "BUILTIN_FIELDS",
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "MAX_NODES",
    "MAX_PATTERN",
    "TYPES",
    "CriteriaError",
    "FieldSpec",
    "Labels",
    "Rule",
    "RuleSet",
    "SqlCompiler",
    "StaticSegment",
    "compile_cache_clear",
    "compile_criteria",
    "compile_rules",
    "set_sql_compiler",
]

# (validated root node, evaluation time) -> a Q over Profile; see segments.sql.to_q.
SqlCompiler = Callable[[Any, datetime], Any]
_sql_compiler: SqlCompiler | None = None


def set_sql_compiler(compiler: SqlCompiler | None) -> None:
    """Register what `Rule.to_q()` compiles with (the segments app does, in `ready()`).

    The criteria package stays free of Django; the compiler that knows the ORM lives in
    `segments.sql`. None unregisters it."""
    global _sql_compiler
    _sql_compiler = compiler


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _now_ts(uses_now: bool, now: datetime | None, default: datetime | None) -> float | None:
    """The evaluation time in epoch seconds (`now`, else the fixed clock, else the current
    time), or None when no condition reads the clock."""
    return epoch_seconds(now or default or _utcnow()) if uses_now else None


class Rule:
    """A compiled criteria tree. Immutable and safe to share between threads."""

    def __init__(self, tree: Any, parsed: Any, now: datetime | None) -> None:
        self.tree = tree
        self._parsed = parsed
        self._compiled = compile_node(parsed.root)
        # The generated function is made on the first `matches()` (or `ready()`): a site's
        # snapshot holds every active segment, but decide evaluates only the ones its slots
        # target, and explain evaluates them all through one RuleSet, which generates its
        # own code from `_compiled`. Generating is idempotent, so a race between threads
        # only generates twice.
        self._fn: Any = None
        self._now = now
        self.uses_now: bool = parsed.uses_now
        self.has_rollout: bool = parsed.has_rollout
        self.referenced_segments: frozenset[str] = frozenset(parsed.referenced_segments)
        self._deps: dict[str, Any] = {}  # see compile_criteria's cache

    def ready(self) -> Rule:
        """Generate the evaluation function now rather than on the first `matches()`."""
        if self._fn is None:
            try:
                fn = generate(self._compiled)
            except Exception:  # a generator gap: the closures evaluate the same tree
                closure = self._compiled.fn
                fn = lambda d, now=None: closure(d, now)  # noqa: E731
            self._fn = fn
            if not self.uses_now:
                # No clock needed: the generated function *is* matches(doc, now=None),
                # saving a Python call per evaluation (the instance attribute shadows the
                # method).
                self.matches = fn  # type: ignore[method-assign]
        return self

    def matches(self, doc: VisitorDocument, now: datetime | None = None) -> bool:
        """Does the visitor document match? `now` overrides the rule's clock."""
        fn = self._fn
        if fn is None:
            fn = self.ready()._fn
        return fn(doc, _now_ts(self.uses_now, now, self._now))

    def explain(
        self, doc: VisitorDocument, now: datetime | None = None, *, labels: Labels | None = None
    ) -> dict[str, Any]:
        """The tree with `passed`, a `summary` and the actual values, for previews.

        `labels`: the field labels and language of the sentences (default: English, with
        the built-in labels only; see segments.criteria.labels)."""
        return _explain(self._compiled, doc, _now_ts(self.uses_now, now, self._now), labels)

    def to_q(self, now: datetime | None = None) -> Any:
        """A Django Q over `segments.models.Profile` selecting exactly the matching profiles."""
        if _sql_compiler is None:
            raise RuntimeError(
                "No SQL compiler is registered for criteria: Rule.to_q() needs Django set up "
                "with 'segments' in INSTALLED_APPS (its ready() registers segments.sql.to_q)."
            )
        return _sql_compiler(self._parsed.root, now or self._now or _utcnow())


def compile_criteria(
    tree: Any,
    fields: Any = None,
    segments: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    segment_key: str | None = None,
) -> Rule:
    """Validate and compile `tree`. Raises CriteriaError (with `.errors`) when invalid.

    fields: mapping path→type name (or spec), or Field-like objects; built-ins always included.
    segments: key → criteria tree, or StaticSegment, for `{"segment": key}` references.
    now: a fixed clock for relative operators (default: the time of each evaluation).
    segment_key: the key of the segment being compiled (default salt of its rollouts).
    """
    specs = normalize_fields(fields)
    key = _rule_key(tree, specs, segment_key, now)
    if key is not None:
        with _rules_lock:
            cached = _rules.get(key)
        if cached is not None and _deps_unchanged(cached, segments):
            return cached
    parsed = Parser(specs, segments, segment_key).parse(tree)
    rule = Rule(tree, parsed, now)
    if key is not None:
        # What the referenced segments (transitively) were: a later compile of the same
        # tree reuses this rule only while they are still the same.
        rule._deps = {k: (segments or {}).get(k) for k in parsed.referenced_segments}
        with _rules_lock:
            _rules[key] = rule
    return rule


# Compiled rules by fingerprint, per process: (the tree as JSON, the catalog's content, the
# segment key, the clock), plus the referenced segments' definitions checked on a hit. A
# rebuild of a site's snapshot after a publish that changed no segment, or one segment,
# compiles only what changed. Held weakly: a rule stays here while a snapshot (or anything
# else) uses it, so the cache holds no memory of its own beyond what the snapshot cache
# bounds.
_rules: weakref.WeakValueDictionary[tuple[Any, ...], Rule] = weakref.WeakValueDictionary()
_rules_lock = threading.Lock()
# The content of each catalog seen, as a small number (a FieldSpecs carries its own, since
# it is normalised once per build and read-only); restarted when it grows large.
_catalogs: dict[tuple[Any, ...], int] = {}
_catalog_ids = itertools.count()
_MAX_CATALOGS = 10_000


def _catalog_id(specs: dict[str, FieldSpec]) -> int | None:
    known = getattr(specs, "fingerprint", None)
    if known is not None:
        return known
    try:
        content = tuple(sorted(specs.items()))
        with _rules_lock:
            if len(_catalogs) >= _MAX_CATALOGS:
                _catalogs.clear()
            found = _catalogs.get(content)
            if found is None:
                found = _catalogs[content] = next(_catalog_ids)
    except TypeError:  # an unhashable allowed value: not cached
        return None
    if type(specs) is FieldSpecs:
        specs.fingerprint = found
    return found


def _rule_key(
    tree: Any, specs: dict[str, FieldSpec], segment_key: str | None, now: datetime | None
) -> tuple[Any, ...] | None:
    catalog = _catalog_id(specs)
    if catalog is None:
        return None
    try:
        # JSON tells 1 from 1.0 and True, and -0.0 from 0.0; key order only costs a miss.
        text = json.dumps(tree, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):  # not JSON: compiled, not cached
        return None
    return (text, catalog, segment_key, now)


def _deps_unchanged(rule: Rule, segments: Mapping[str, Any] | None) -> bool:
    segments = segments or {}
    missing = object()
    return all(segments.get(k, missing) == v for k, v in rule._deps.items())


def compile_cache_clear() -> None:
    """Forget every compiled rule and generated code (benchmarks measure cold builds)."""
    with _rules_lock:
        _rules.clear()
        _catalogs.clear()
    code_cache_clear()


class RuleSet:
    """Many compiled rules evaluated together: one generated function reads each field of
    the visitor once for all of them. Delivery's `explain` lists every segment a visitor
    is in with one (about twice as fast as rule by rule at 1,000 segments and more)."""

    __slots__ = ("_fn", "_keys", "_now", "_uses_now", "rules")

    def __init__(self, rules: Mapping[str, Rule], now: datetime | None = None) -> None:
        self.rules: dict[str, Rule] = dict(rules)
        self._keys = list(self.rules)
        self._fn = generate_many([r._compiled for r in self.rules.values()])
        self._uses_now = any(r.uses_now for r in self.rules.values())
        self._now = now

    def matching(self, doc: VisitorDocument, now: datetime | None = None) -> list[str]:
        """Keys of the rules the document matches, in the order the rules were given."""
        keys = self._keys
        return [keys[i] for i in self._fn(doc, _now_ts(self._uses_now, now, self._now))]


def compile_rules(
    trees: Mapping[str, Any],
    fields: Any = None,
    segments: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> RuleSet:
    """compile_criteria for each key → tree (each tree's rollouts default to its key as salt).

    Raises the first CriteriaError; its message names the key whose tree is invalid.
    """
    specs = normalize_fields(fields)
    rules = {}
    for key, tree in trees.items():
        try:
            parsed = Parser(specs, segments, key).parse(tree)
        except CriteriaError as exc:
            raise CriteriaError(exc.path, f"{key}: {exc.message}", exc.errors) from None
        rules[key] = Rule(tree, parsed, now)
    return RuleSet(rules, now)
