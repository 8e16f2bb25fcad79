"""Generate Python functions for rules, with the common conditions inlined.

Closures (compile_memory) cost several Python calls per condition; a generated function
reads each field once (hoisted into locals, converted to its type once) and evaluates a
typical condition with no Python-level call at all. `generate_many` does this for a whole
set of rules, so the 20 reads of a visitor are shared by hundreds of conditions.

Only validated data goes into the source: field keys match KEY_RE and are written with
repr(); operands are bound as constants in the namespace, never formatted into code.
Conditions the generator does not inline (dates, geo, lists, nested paths, events, …)
call their closure.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from types import CodeType
from typing import Any

from segments.criteria import values as V
from segments.criteria.compile_memory import Compiled, _test, count_test
from segments.criteria.nodes import Condition, EventNode, Group, SegmentRef, StaticSegment

_ROOT_VARS = {"profile": "_p", "context": "_c", "visitor": "_v"}
_CMP = {"eq": "==", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_EMPTY: dict[str, Any] = {}
_MAX_SOURCE = 2_000_000

# Compiled code by source text, per process. Operands are constants bound by name in each
# rule's namespace, never written into the source, so every rule of one shape (the same
# fields, operators and nesting, whatever the values) has the same source: `compile()`,
# most of the cost of compiling a rule, runs once per shape and the code object is
# executed into each rule's own namespace. Bounded (least recently used dropped first);
# one-rule sources only (a RuleSet's source is one of a kind).
CODE_CACHE_SIZE = 4096
_CODE_CACHE_MAX_SOURCE = 16_384
_code_cache: OrderedDict[str, CodeType] = OrderedDict()
_code_lock = threading.Lock()


def _compiled_code(src: str) -> CodeType:
    """`compile(src)`, from the per-process cache when this source was compiled before."""
    if len(src) > _CODE_CACHE_MAX_SOURCE:
        return compile(src, "<criteria>", "exec")
    with _code_lock:
        code = _code_cache.get(src)
        if code is not None:
            _code_cache.move_to_end(src)
            return code
    code = compile(src, "<criteria>", "exec")  # outside the lock: it may take a while
    with _code_lock:
        _code_cache[src] = code
        while len(_code_cache) > CODE_CACHE_SIZE:
            _code_cache.popitem(last=False)
    return code


def code_cache_clear() -> None:
    """Forget the compiled code of every shape (benchmarks measure cold builds with it)."""
    with _code_lock:
        _code_cache.clear()


class _Gen:
    def __init__(self, hoist: bool) -> None:
        self.ns: dict[str, Any] = {
            "_fold": V.fold,
            "_isfinite": math.isfinite,
            "_E": _EMPTY,
            "_num": V.number_from_text,
            "_bool": V.bool_from_text,
            "_when": V.parse_when,
            "_ver": V.read_version,
        }
        # hoist: read every field once up front (many rules); else read lazily in each
        # condition (one rule, where the first failing condition ends the evaluation).
        self.hoist = hoist
        self.roots: set[str] = set()
        self.pending: dict[str, str] = {}
        self.reads: dict[tuple[str, str], int] = {}
        self.derived: dict[tuple[str, int], str] = {}
        self.prelude: list[str] = []

    def const(self, value: Any) -> str:
        name = f"_k{len(self.ns)}"
        self.ns[name] = value
        return name

    def read(self, root: str, key: str, kind: str) -> str:
        """A local holding root.key as `raw`, `str` (exact), `ci` (folded str) or `num`."""
        self.roots.add(root)
        if not self.hoist:
            name = f"_{kind}_{len(self.pending)}"
            get = f"{_ROOT_VARS[root]}.get({key!r})"
            self.pending[name] = {
                "raw": get,
                "str": f"(_x if (_x := {get}).__class__ is str else None)",
                "ci": f"((_x.lower() if _x.isascii() else _fold(_x)) "
                f"if (_x := {get}).__class__ is str else None)",
                "num": f"(_x if (_x := {get}).__class__ is int or "
                f"(_x.__class__ is float and _isfinite(_x)) else "
                f"_num(_x) if _x.__class__ is str else None)",
                "when": f"_when({get})",
                "ver": f"_ver({get})",
            }[kind]
            return name
        if (root, key) not in self.reads:
            i = self.reads[(root, key)] = len(self.reads)
            self.prelude.append(f"_r{i} = {_ROOT_VARS[root]}.get({key!r})")
        i = self.reads[(root, key)]
        if kind == "raw":
            return f"_r{i}"
        name = f"_{kind}{i}"
        if (kind, i) not in self.derived:
            self.derived[(kind, i)] = name
            r = f"_r{i}"
            self.prelude.append(
                {
                    "str": f"{name} = {r} if {r}.__class__ is str else None",
                    "ci": f"{name} = ({r}.lower() if {r}.isascii() else _fold({r})) "
                    f"if {r}.__class__ is str else None",
                    "num": f"{name} = {r} if {r}.__class__ is int or "
                    f"({r}.__class__ is float and _isfinite({r})) else "
                    f"_num({r}) if {r}.__class__ is str else None",
                    "when": f"{name} = _when({r})",
                    "ver": f"{name} = _ver({r})",
                }[kind]
            )
        return name

    def expr(self, c: Compiled) -> str:
        node = c.node
        if isinstance(node, Group):
            kids = [self.expr(k) for k in c.children]
            if node.kind != "any":
                # Inlined tests first, calls (events, rollouts, geo, …) last: `all` and
                # `none` short-circuit to the same answer in any order, and a call costs
                # ten times an inlined test. (`any` keeps its order: a call that raises
                # before a true test must still make the rule fail.)
                kids.sort(key=lambda x: "(d, now)" in x)
            if node.kind == "all":
                return "(" + " and ".join(kids) + ")" if kids else "True"
            anyx = "(" + " or ".join(kids) + ")" if kids else "False"
            return anyx if node.kind == "any" else f"(not {anyx})"
        if isinstance(node, SegmentRef) and not isinstance(node.target, StaticSegment):
            return self.expr(c.children[0])
        if isinstance(node, Condition):
            inline = self.condition(node)
            if inline is not None:
                for name, conv in self.pending.items():  # lazy reads: assign at first use
                    inline = inline.replace(name, f"({name} := {conv})", 1)
                self.pending.clear()
                return inline
        if isinstance(node, EventNode):
            # A visitor with no events (most anonymous ones) counts 0 of everything: the
            # answer is the count test's on 0, without calling the counter. Stored counters
            # (`counters`, when the document has them) are left to the counter.
            zero = count_test(node.count_op, node.count_value)(0)
            return f"({zero} if {self.no_events()} else {self.const(c.fn)}(d, now))"
        return f"{self.const(c.fn)}(d, now)"

    def no_events(self) -> str:
        """An expression: the document has no event to count and no stored counters."""
        test = (
            "(((_e := d.get('events')).__class__ is not list or not _e)"
            " and d.get('counters').__class__ is not dict)"
        )
        if not self.hoist:
            return test
        if "_noev" not in self.derived.values():
            self.derived[("noev", -1)] = "_noev"
            self.prelude.append(f"_noev = {test}")
        return "_noev"

    def condition(self, c: Condition) -> str | None:
        if c.root not in _ROOT_VARS or len(c.keys) != 1:
            return None
        root, key, op, t = c.root, c.keys[0], c.op, c.value
        if op == "is_not_set":
            return f"({self.read(root, key, 'raw')} is None)"
        if c.type in ("string", "enum"):
            if op == "is_set":
                return f"({self.read(root, key, 'str')} is not None)"
            if op == "matches":
                x = self.read(root, key, "str")
                return f"({x} is not None and {self.const(_test(c)[0])}({x}))"
            x = self.read(root, key, "str" if c.case_sensitive else "ci")
            k = self.const(t)
            return {
                "eq": f"({x} == {k})",
                "neq": f"({x} is not None and {x} != {k})",
                "in": f"({x} in {k})",
                "not_in": f"({x} is not None and {x} not in {k})",
                "contains": f"({x} is not None and {k} in {x})",
                "not_contains": f"({x} is not None and {k} not in {x})",
                "starts_with": f"({x} is not None and {x}.startswith({k}))",
                "ends_with": f"({x} is not None and {x}.endswith({k}))",
            }[op]
        if c.type == "number":
            n = self.read(root, key, "num")
            if op == "is_set":
                return f"({n} is not None)"
            if op in _CMP:
                return f"({n} is not None and {n} {_CMP[op]} {self.const(t)})"
            if op == "between":
                return f"({n} is not None and {self.const(t[0])} <= {n} <= {self.const(t[1])})"
            if op == "in":
                return f"({n} in {self.const(t)})"
            return f"({n} is not None and {n} not in {self.const(t)})"
        if c.type in ("date", "datetime"):
            w = self.read(root, key, "when")
            if op == "is_set":
                return f"({w} is not None)"
            at = f"{w}[{1 if c.type == 'date' else 0}]"  # dates compare days, datetimes instants
            if op in _CMP:
                return f"({w} is not None and {at} {_CMP[op]} {self.const(t)})"
            if op == "between":
                return f"({w} is not None and {self.const(t[0])} <= {at} <= {self.const(t[1])})"
            if op == "within_last":
                return f"({w} is not None and now - {self.const(t)} <= {at} <= now)"
            if op == "more_than_ago":
                return f"({w} is not None and {at} < now - {self.const(t)})"
            if op == "hour_between":
                lo, hi = self.const(t[0]), self.const(t[1])
                if t[0] <= t[1]:
                    return f"({w} is not None and {lo} <= {w}[2] < {hi})"
                return f"({w} is not None and ({w}[2] >= {lo} or {w}[2] < {hi}))"
            if op == "day_of_week_in":
                return f"({w} is not None and {w}[3] in {self.const(t)})"
            return None
        if c.type == "version":
            v = self.read(root, key, "ver")
            if op == "is_set":
                return f"({v} is not None)"
            if op == "between":
                lo, hi = V.as_version(t[0]), V.as_version(t[1])
                return f"({v} is not None and {self.const(lo)} <= {v} <= {self.const(hi)})"
            if op in _CMP:
                return f"({v} is not None and {v} {_CMP[op]} {self.const(V.as_version(t))})"
            return None
        if c.type == "boolean" and op in ("is_true", "is_false"):
            r, want = self.read(root, key, "raw"), op == "is_true"
            # "true"/"false" as text read as booleans too (values.read_bool)
            return f"({r} is {want} or ({r}.__class__ is str and _bool({r}) is {want}))"
        return None

    def source(self, name: str, body: list[str]) -> str:
        lines = [f"def {name}(d, now=None):"]
        for root, var in _ROOT_VARS.items():  # only the sections this code reads
            if root in self.roots:
                lines.append(f"    {var} = d.get({root!r})")
                lines.append(f"    if {var}.__class__ is not dict: {var} = _E")
        lines += [f"    {line}" for line in self.prelude]
        lines += [f"    {line}" for line in body]
        return "\n".join(lines) + "\n"

    def build(self, name: str, body: list[str]) -> Any:
        src = self.source(name, body)
        if len(src) > _MAX_SOURCE:
            return None
        try:
            code = _compiled_code(src)
        except (SyntaxError, RecursionError):
            # Python's own nesting limits (e.g. 200 parentheses, reachable through chains of
            # segment references): the closures evaluate such a rule just the same.
            return None
        exec(code, self.ns)  # noqa: S102 (validated input, see above)
        return self.ns[name]


def generate(compiled: Compiled) -> Any:
    """A function `(doc, now=None) -> bool` equivalent to `compiled.fn`."""
    gen = _Gen(hoist=False)
    # Every inlined test, closure and `not` yields a bool, so no bool() call is needed.
    fn = gen.build("_rule", [f"return {gen.expr(compiled)}"])
    if fn is None:
        closure = compiled.fn
        return lambda d, now=None: closure(d, now)
    return fn


def generate_many(compiled: Sequence[Compiled]) -> Any:
    """A function `(doc, now) -> list[int]`: the indexes of the rules that match."""
    gen = _Gen(hoist=True)
    body = ["_out = []"]
    for i, c in enumerate(compiled):
        body.append(f"if {gen.expr(c)}: _out.append({i})")
    body.append("return _out")
    fn = gen.build("_rules", body)
    if fn is None:
        fns = [c.fn for c in compiled]
        return lambda d, now: [i for i, f in enumerate(fns) if f(d, now)]
    return fn
