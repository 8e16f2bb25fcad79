"""Features a policy may read, and their deterministic encoding. Pure: no Django, no numpy.

A marketer declares which facts of a visitor the model may use; the declaration is a list
of JSON objects (stored with the optimization, validated here):

    {"kind": "category", "field": "context.device_type", "top_k": 8}
    {"kind": "number", "field": "profile.age"}
    {"kind": "flag", "field": "visitor.is_known"}
    {"kind": "segment", "segment": "loyal-customers"}
    {"kind": "hour", "field": "context.local_time"}       # local hour 0-23
    {"kind": "weekday", "field": "context.local_time"}    # 0 = Monday
    {"kind": "recency"}                                   # days since visitor.last_seen
    {"kind": "recency", "event": "purchase"}              # days since the latest purchase
    {"kind": "frequency"}                                 # visitor.visit_count
    {"kind": "frequency", "event": "purchase", "within_days": 30}

`fit_encoder(spec, docs)` learns the vocabulary of each category feature from training
documents (its `top_k` most frequent values, ties broken by the value so the result does
not depend on the order of the documents); everything else is fixed by the spec. The
encoder turns a visitor document (`{"visitor", "profile", "context", "events"}`, as
delivery builds it) into a tuple of floats, one per column:

- a category becomes one 0/1 column per known value plus one `<field>=__other__` column
  (values outside the vocabulary); a missing value is all zeros. A list value (e.g.
  `profile.interests`) sets the column of each of its elements. Strings compare
  case-insensitively (as the criteria language does).
- number, flag, hour, weekday, recency and frequency are one column each; a missing or
  unreadable value is NaN, which the compiled tree sends the way the trained tree does.
- a segment is 1.0 when the visitor is a member (the caller passes the matched segment
  keys: delivery has them from its segment pass), else 0.0.

The encoder is JSON-able (`to_json` / `from_json`) and travels inside the compiled policy,
so serving encodes exactly as training did.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

FeatureKind = Literal[
    "category", "number", "flag", "segment", "hour", "weekday", "recency", "frequency"
]
FEATURE_KINDS: tuple[str, ...] = (
    "category",
    "number",
    "flag",
    "segment",
    "hour",
    "weekday",
    "recency",
    "frequency",
)
ROOTS = ("visitor", "profile", "context")
OTHER = "__other__"
MAX_FEATURES = 50
MAX_TOP_K = 50
DEFAULT_TOP_K = 10
MISSING = math.nan
MAX_EXACT_INT = 2**53  # larger integers are not exact as floats (nor in JSON readers)


class FeatureSpecError(ValueError):
    """A malformed feature declaration: `path` is the JSON path of the offending part."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Feature:
    kind: FeatureKind
    field: str = ""  # "context.device_type"; for time kinds the datetime field
    segment: str = ""  # kind "segment"
    event: str = ""  # recency / frequency of an event name ("" = of visits)
    within_days: int | None = None  # frequency of an event within the last N days
    top_k: int = DEFAULT_TOP_K  # kind "category"

    @property
    def name(self) -> str:
        """A stable column-name stem, unique within a spec."""
        if self.kind == "segment":
            return f"segment:{self.segment}"
        if self.kind in ("recency", "frequency"):
            what = f"event:{self.event}" if self.event else "visits"
            days = f"/{self.within_days}d" if self.within_days else ""
            return f"{self.kind}:{what}{days}"
        if self.kind in ("hour", "weekday"):
            return f"{self.kind}:{self.field}"
        return self.field

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.field:
            data["field"] = self.field
        if self.segment:
            data["segment"] = self.segment
        if self.event:
            data["event"] = self.event
        if self.within_days is not None:
            data["within_days"] = self.within_days
        if self.kind == "category":
            data["top_k"] = self.top_k
        return data


def _field_path(value: Any, path: str) -> str:
    if not isinstance(value, str) or "." not in value:
        raise FeatureSpecError(path, "must be a field path such as 'context.device_type'")
    root, _, rest = value.partition(".")
    if root not in ROOTS or not rest:
        raise FeatureSpecError(path, f"must start with one of {', '.join(ROOTS)}")
    return value


def parse_feature_spec(spec: Any) -> tuple[Feature, ...]:
    """Validate a declared feature list; raises FeatureSpecError(path, message)."""
    if not isinstance(spec, list) or not spec:
        raise FeatureSpecError("features", "must be a non-empty list")
    if len(spec) > MAX_FEATURES:
        raise FeatureSpecError("features", f"at most {MAX_FEATURES} features")
    features: list[Feature] = []
    seen: set[str] = set()
    for i, item in enumerate(spec):
        path = f"features[{i}]"
        if not isinstance(item, Mapping):
            raise FeatureSpecError(path, "must be an object")
        kind = item.get("kind")
        if kind not in FEATURE_KINDS:
            raise FeatureSpecError(f"{path}.kind", f"must be one of {', '.join(FEATURE_KINDS)}")
        allowed = {"kind"}
        values: dict[str, Any] = {"kind": kind}
        if kind in ("category", "number", "flag", "hour", "weekday"):
            allowed.add("field")
            values["field"] = _field_path(item.get("field"), f"{path}.field")
        if kind == "category":
            allowed.add("top_k")
            top_k = item.get("top_k", DEFAULT_TOP_K)
            if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
                raise FeatureSpecError(f"{path}.top_k", f"must be an integer 1-{MAX_TOP_K}")
            values["top_k"] = top_k
        if kind == "segment":
            allowed.add("segment")
            key = item.get("segment")
            if not isinstance(key, str) or not key:
                raise FeatureSpecError(f"{path}.segment", "must be a segment key")
            values["segment"] = key
        if kind in ("recency", "frequency"):
            allowed.add("event")
            event = item.get("event", "")
            if not isinstance(event, str):
                raise FeatureSpecError(f"{path}.event", "must be an event name")
            values["event"] = event
        if kind == "frequency":
            allowed.add("within_days")
            days = item.get("within_days")
            if days is not None:
                if not values["event"]:
                    raise FeatureSpecError(
                        f"{path}.within_days", "only applies to the frequency of an event"
                    )
                if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
                    raise FeatureSpecError(f"{path}.within_days", "must be an integer 1-3650")
                values["within_days"] = days
        extra = sorted(set(item) - allowed)
        if extra:
            raise FeatureSpecError(f"{path}.{extra[0]}", f"is not a key of a {kind} feature")
        feature = Feature(**values)
        if feature.name in seen:
            raise FeatureSpecError(path, f"declares {feature.name!r} twice")
        seen.add(feature.name)
        features.append(feature)
    return tuple(features)


def _lookup(doc: Mapping[str, Any], path: str) -> Any:
    root, _, rest = path.partition(".")
    value: Any = doc.get(root)
    for part in rest.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _category(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    text = str(value).strip().lower()
    return text or None


def _categories(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [c for c in map(_category, items) if c is not None]


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        if not isinstance(value, int | float | str):
            return MISSING
        number = float(value)
    except (ValueError, OverflowError):  # not a number, or an int beyond a float
        return MISSING
    return number if math.isfinite(number) else MISSING


def _flag(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return 1.0 if value.strip().lower() == "true" else 0.0
    return MISSING


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _aware(moment: datetime) -> datetime:
    # Naive times are read as UTC, as the rest of delivery does.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Encoders' serving plans, by identity (the encoder is a frozen, slotted dataclass: no room
# for a cache on it). The entry holds the encoder, so an id is never reused while cached.
_PLANS: dict[int, tuple[Any, tuple[tuple[str, str, dict[str, int], int], ...]]] = {}


@dataclass(frozen=True, slots=True)
class FeatureEncoder:
    """A feature spec with its learnt vocabularies: document -> row of floats."""

    features: tuple[Feature, ...]
    vocabularies: tuple[tuple[str, ...], ...]  # per feature; empty unless a category

    @property
    def columns(self) -> tuple[str, ...]:
        names: list[str] = []
        for feature, vocabulary in zip(self.features, self.vocabularies, strict=True):
            if feature.kind == "category":
                names += [f"{feature.field}={v}" for v in vocabulary]
                names.append(f"{feature.field}={OTHER}")
            else:
                names.append(feature.name)
        return tuple(names)

    def encode(
        self,
        doc: Mapping[str, Any],
        *,
        segments: Collection[str] = (),
        now: datetime | None = None,
    ) -> tuple[float, ...]:
        """One row. `segments`: keys of the segments the visitor is in; `now`: the time
        recency is measured from (default: the current time)."""
        return self.encode_values(extract_values(self.features, doc, segments=segments, now=now))

    def encode_values(self, values: Mapping[str, Any]) -> tuple[float, ...]:
        """One row from `extract_values`' output (as logged with a decision): the same row
        `encode` gives for the document it was extracted from, whatever the vocabularies
        were when it was logged."""
        row: list[float] = []
        for name, kind, index, width in self._plan:
            value = values.get(name)
            if kind == "category":
                cells = [0.0] * width
                if value.__class__ is str:  # the common case, inline
                    text = value.strip().lower()
                    if text:
                        cells[index.get(text, width - 1)] = 1.0
                elif value is not None:
                    for category in _categories(value):
                        cells[index.get(category, width - 1)] = 1.0
                row += cells
            elif kind == "segment":
                row.append(1.0 if value is True else 0.0)
            elif value.__class__ is float:
                row.append(value if value - value == 0.0 else MISSING)  # NaN and ±inf: missing
            else:
                row.append(_number(value))
        return tuple(row)

    @property
    def _plan(self) -> tuple[tuple[str, str, dict[str, int], int], ...]:
        """Per feature (name, kind, vocabulary index, columns), built once per encoder:
        serving encodes with it on every decision."""
        plan = _PLANS.get(id(self))
        if plan is None or plan[0] is not self:
            steps = tuple(
                (
                    feature.name,
                    feature.kind,
                    {value: i for i, value in enumerate(vocabulary)},
                    len(vocabulary) + 1,
                )
                for feature, vocabulary in zip(self.features, self.vocabularies, strict=True)
            )
            if len(_PLANS) > 4096:
                _PLANS.clear()
            plan = _PLANS[id(self)] = (self, steps)
        return plan[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "features": [f.to_json() for f in self.features],
            "vocabularies": [list(v) for v in self.vocabularies],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        features = parse_feature_spec(list(data["features"]))
        vocabularies = tuple(tuple(str(v) for v in vocab) for vocab in data["vocabularies"])
        if len(vocabularies) != len(features):
            raise ValueError("one vocabulary per feature is needed")
        return cls(features=features, vocabularies=vocabularies)


def _recency(doc: Mapping[str, Any], feature: Feature, now: datetime | None) -> float | None:
    now = _aware(now or datetime.now(UTC))
    if feature.event:
        times = [
            _datetime(e.get("timestamp"))
            for e in doc.get("events") or ()
            if isinstance(e, Mapping) and e.get("name") == feature.event
        ]
        moments = [_aware(t) for t in times if t is not None]
        latest = max(moments) if moments else None
    else:
        seen = _datetime(_lookup(doc, "visitor.last_seen"))
        latest = _aware(seen) if seen else None
    if latest is None:
        return None
    return max(0.0, (now - latest).total_seconds() / 86400)


def _frequency(doc: Mapping[str, Any], feature: Feature, now: datetime | None) -> float | None:
    if not feature.event:
        visits = _number(_lookup(doc, "visitor.visit_count"))
        return None if math.isnan(visits) else visits
    now = _aware(now or datetime.now(UTC))
    count = 0
    for event in doc.get("events") or ():
        if not isinstance(event, Mapping) or event.get("name") != feature.event:
            continue
        if feature.within_days:
            moment = _datetime(event.get("timestamp"))
            if moment is None:
                continue
            if (now - _aware(moment)).total_seconds() > feature.within_days * 86400:
                continue
        count += 1
    return float(count)


def _json_scalar(value: Any) -> Any:
    """A JSON-safe copy of what a category, number or flag feature reads (None if it is
    neither a scalar nor a list of scalars)."""
    cls = value.__class__
    if cls is str or cls is bool or value is None:
        return value
    if cls is int:
        return value if -MAX_EXACT_INT <= value <= MAX_EXACT_INT else None
    if cls is float:
        return value if value - value == 0.0 else None  # NaN and ±inf: None
    if isinstance(value, list | tuple):
        return [_json_scalar(v) for v in value if not isinstance(v, list | tuple | Mapping)]
    # Subclasses (enums, numpy scalars...) read as their plain value.
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return _json_scalar(int(value))
    if isinstance(value, float):
        return _json_scalar(float(value))
    return None


# Per feature tuple (by identity, holding it): (name, kind, root, path parts, feature).
_EXTRACT_PLANS: dict[int, tuple[Any, tuple[tuple[str, str, str, tuple[str, ...], Feature], ...]]]
_EXTRACT_PLANS = {}


def _extract_plan(
    features: Sequence[Feature],
) -> tuple[tuple[str, str, str, tuple[str, ...], Feature], ...]:
    cached = _EXTRACT_PLANS.get(id(features))
    if cached is not None and cached[0] is features:
        return cached[1]
    steps = []
    for feature in features:
        root, _, rest = feature.field.partition(".")
        steps.append((feature.name, feature.kind, root, tuple(rest.split(".")), feature))
    plan = tuple(steps)
    if isinstance(features, tuple):  # immutable: safe to remember
        if len(_EXTRACT_PLANS) > 4096:
            _EXTRACT_PLANS.clear()
        _EXTRACT_PLANS[id(features)] = (features, plan)
    return plan


def _read(doc: Mapping[str, Any], root: str, parts: tuple[str, ...]) -> Any:
    value: Any = doc.get(root)
    for part in parts:
        if value.__class__ is not dict and not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def extract_values(
    features: Sequence[Feature],
    doc: Mapping[str, Any],
    *,
    segments: Collection[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """What each feature reads of a visitor, keyed by `Feature.name`, as JSON-able values:
    the raw value of a category, number or flag field; the hour / weekday as written;
    recency in days and frequency as counts (computed here, so the visitor's events need
    not be kept); True for a segment the visitor is in. Delivery logs this with each
    decision, and training encodes it with whatever vocabulary it then learns
    (`FeatureEncoder.encode_values`, `fit_encoder_values`)."""
    values: dict[str, Any] = {}
    for name, kind, root, parts, feature in _extract_plan(features):
        if kind == "category" or kind == "number" or kind == "flag":
            value = _json_scalar(_read(doc, root, parts))
        elif kind == "segment":
            value = True if feature.segment in segments else None
        elif kind == "hour" or kind == "weekday":
            moment = _datetime(_read(doc, root, parts))
            # The time as written: local_time carries the visitor's own offset.
            hour = kind == "hour"
            value = None if moment is None else moment.hour if hour else moment.weekday()
        elif kind == "recency":
            value = _recency(doc, feature, now)
        else:
            value = _frequency(doc, feature, now)
        if value is not None:
            values[name] = value
    return values


def _parsed(spec: Any) -> tuple[Feature, ...]:
    if isinstance(spec, Sequence) and spec and all(isinstance(f, Feature) for f in spec):
        return tuple(spec)
    return parse_feature_spec(spec)


def _learn(features: tuple[Feature, ...], read: Iterable[Any]) -> FeatureEncoder:
    """Learn the top-k vocabularies from `read`: per document, a callable feature -> value."""
    counters = [Counter[str]() for _ in features]
    for value_of in read:
        for feature, counter in zip(features, counters, strict=True):
            if feature.kind == "category":
                counter.update(_categories(value_of(feature)))
    vocabularies = tuple(
        tuple(
            value
            for value, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[: feature.top_k]
        )
        if feature.kind == "category"
        else ()
        for feature, counter in zip(features, counters, strict=True)
    )
    return FeatureEncoder(features=features, vocabularies=vocabularies)


def fit_encoder(spec: Any, docs: Iterable[Mapping[str, Any]]) -> FeatureEncoder:
    """Validate `spec` (a list of feature declarations, or parsed Features) and learn the
    top-k vocabulary of each category feature from `docs`."""
    return _learn(_parsed(spec), ((lambda f, d=doc: _lookup(d, f.field)) for doc in docs))


def fit_encoder_values(spec: Any, values: Iterable[Mapping[str, Any]]) -> FeatureEncoder:
    """`fit_encoder` from logged `extract_values` outputs instead of documents."""
    return _learn(_parsed(spec), ((lambda f, v=v: v.get(f.name)) for v in values))
