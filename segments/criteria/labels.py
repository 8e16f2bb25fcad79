"""Human words for criteria: operator phrases, enum value labels and the sentences of
explanations ("Age is at least 18", "did “purchase” at least 2 times in the last 30 days").

Pure: nothing here imports Django. The words are English msgids, marked for `makemessages`
(`gettext_noop`, and literal `tr.gettext(...)` / `tr.ngettext(...)` calls, which xgettext
extracts too); a caller translates them by passing a `Translator`, e.g. the module
`django.utils.translation` itself, which has both methods. Machine codes (`gte`,
`non_binary`, JSON paths) are never replaced by these words, only shown beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Translator(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, number: int) -> str: ...


class _English:
    """The untranslated words (English plural rule)."""

    @staticmethod
    def gettext(message: str) -> str:
        return message

    @staticmethod
    def ngettext(singular: str, plural: str, number: int) -> str:
        return singular if number == 1 else plural


ENGLISH: Translator = _English()


def gettext_noop(message: str) -> str:
    """Marks a msgid for makemessages; it is translated where it is shown."""
    return message


OPERATOR_LABELS: dict[str, str] = {
    "eq": gettext_noop("is"),
    "neq": gettext_noop("is not"),
    "in": gettext_noop("is one of"),
    "not_in": gettext_noop("is none of"),
    "lt": gettext_noop("is less than"),
    "lte": gettext_noop("is at most"),
    "gt": gettext_noop("is greater than"),
    "gte": gettext_noop("is at least"),
    "between": gettext_noop("is between"),
    "contains": gettext_noop("contains"),
    "not_contains": gettext_noop("does not contain"),
    "starts_with": gettext_noop("starts with"),
    "ends_with": gettext_noop("ends with"),
    "matches": gettext_noop("matches the pattern"),
    "contains_any": gettext_noop("contains any of"),
    "contains_all": gettext_noop("contains all of"),
    "is_set": gettext_noop("is set"),
    "is_not_set": gettext_noop("is not set"),
    "is_true": gettext_noop("is true"),
    "is_false": gettext_noop("is false"),
    "within_last": gettext_noop("is within the last"),
    "more_than_ago": gettext_noop("is more than"),
    "hour_between": gettext_noop("has its hour between"),
    "day_of_week_in": gettext_noop("falls on"),
    "within_km": gettext_noop("is within"),
}

# The allowed values of the built-in enum fields. A site's own enum values without an entry
# here read as `humanize(value)`.
VALUE_LABELS: dict[str, str] = {
    "female": gettext_noop("Female"),
    "male": gettext_noop("Male"),
    "non_binary": gettext_noop("Non-binary"),
    "unknown": gettext_noop("Unknown"),
    "bronze": gettext_noop("Bronze"),
    "silver": gettext_noop("Silver"),
    "gold": gettext_noop("Gold"),
    "platinum": gettext_noop("Platinum"),
    "desktop": gettext_noop("Desktop"),
    "mobile": gettext_noop("Mobile"),
    "tablet": gettext_noop("Tablet"),
    "tv": gettext_noop("TV"),
    "car": gettext_noop("Car"),
    "other": gettext_noop("Other"),
    "clear": gettext_noop("Clear"),
    "clouds": gettext_noop("Clouds"),
    "rain": gettext_noop("Rain"),
    "snow": gettext_noop("Snow"),
    "storm": gettext_noop("Storm"),
    "fog": gettext_noop("Fog"),
    "web": gettext_noop("Web"),
    "app": gettext_noop("App"),
    "email": gettext_noop("Email"),
    "push": gettext_noop("Push"),
    "kiosk": gettext_noop("Kiosk"),
}

DAY_LABELS: tuple[str, ...] = (
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
)


def humanize(value: str) -> str:
    """`non_binary` → "Non binary": readable when no label is known."""
    text = value.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else value


def value_label(value: Any, tr: Translator = ENGLISH) -> str:
    """An enum value as a person reads it."""
    if isinstance(value, str):
        return tr.gettext(VALUE_LABELS[value]) if value in VALUE_LABELS else humanize(value)
    return _scalar(value, tr)


def operator_label(op: str, tr: Translator = ENGLISH) -> str:
    return tr.gettext(OPERATOR_LABELS[op]) if op in OPERATOR_LABELS else op


def _scalar(value: Any, tr: Translator) -> str:
    if value is True:
        return tr.gettext("true")
    if value is False:
        return tr.gettext("false")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


def _join(items: list[str], tr: Translator) -> str:
    if len(items) > 5:
        return ", ".join(items[:5]) + ", …"
    if len(items) < 2:
        return "".join(items)
    return tr.gettext("%(items)s or %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def _duration(value: Any, tr: Translator) -> str:
    if not isinstance(value, Mapping):
        return _scalar(value, tr)
    parts = []
    for unit, amount in value.items():
        whole = isinstance(amount, (int, float)) and float(amount).is_integer()
        n = int(amount) if whole else 2  # the plural form for fractions
        if unit == "minutes":
            text = tr.ngettext("%(n)s minute", "%(n)s minutes", n)
        elif unit == "hours":
            text = tr.ngettext("%(n)s hour", "%(n)s hours", n)
        elif unit == "weeks":
            text = tr.ngettext("%(n)s week", "%(n)s weeks", n)
        else:
            text = tr.ngettext("%(n)s day", "%(n)s days", n)
        parts.append(text % {"n": n if whole else amount})
    return " ".join(parts)


def _day(value: Any, tr: Translator) -> str:
    if isinstance(value, int) and 1 <= value <= 7:
        return tr.gettext(DAY_LABELS[value - 1])
    return humanize(str(value))


class Labels:
    """Words for one explanation: the site's field labels and types, in one language.

    fields: path → (label, type) from the site's catalog; paths without a label read as the
    last part of the path, humanized."""

    def __init__(
        self,
        *,
        translator: Translator = ENGLISH,
        fields: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.tr = translator
        self.fields = dict(fields or {})

    @classmethod
    def from_catalog(cls, *, catalog: Any, translator: Translator = ENGLISH) -> Labels:
        """From Field-like objects (path, label, type) or a mapping path → spec dict."""
        items = catalog.items() if isinstance(catalog, Mapping) else ((f.path, f) for f in catalog)
        fields = {}
        for path, f in items:
            label = f.get("label", "") if isinstance(f, Mapping) else getattr(f, "label", "")
            type_ = f.get("type", "") if isinstance(f, Mapping) else getattr(f, "type", "")
            fields[path] = (label or "", type_ or "")
        return cls(translator=translator, fields=fields)

    def field(self, path: str) -> str:
        if path.startswith("properties."):
            return self.tr.gettext("property “%(name)s”") % {"name": path[len("properties.") :]}
        label, _ = self.fields.get(path, ("", ""))
        # Built-in labels are msgids (catalog.py marks them); a site's own labels have no
        # translation, and gettext returns them unchanged.
        return self.tr.gettext(label) if label else humanize(path.rsplit(".", 1)[-1])

    def op(self, op: str) -> str:
        return operator_label(op, self.tr)

    def value(self, path: str, op: str, value: Any) -> str:
        """The operand of a condition as words ("" for operators without one)."""
        tr = self.tr
        if value is None:
            return ""
        enum = self.fields.get(path, ("", ""))[1] == "enum"
        one = (lambda v: value_label(v, tr)) if enum else (lambda v: _scalar(v, tr))
        if op in ("within_last",):
            return _duration(value, tr)
        if op == "more_than_ago":
            return tr.gettext("%(duration)s ago") % {"duration": _duration(value, tr)}
        if op == "day_of_week_in" and isinstance(value, list):
            return _join([_day(v, tr) for v in value], tr)
        if op == "within_km" and isinstance(value, Mapping):
            return tr.gettext("%(km)s km of %(lat)s, %(lng)s") % {
                "km": _scalar(value.get("km"), tr),
                "lat": _scalar(value.get("lat"), tr),
                "lng": _scalar(value.get("lng"), tr),
            }
        if op in ("between", "hour_between") and isinstance(value, list) and len(value) == 2:
            low, high = one(value[0]), one(value[1])
            return tr.gettext("%(low)s and %(high)s") % {"low": low, "high": high}
        if isinstance(value, list):
            return _join([one(v) for v in value], tr)
        if isinstance(value, Mapping):
            return ", ".join(f"{k}={_scalar(v, tr)}" for k, v in value.items())
        return one(value)

    def actual(self, path: str, value: Any) -> str:
        if value is None:
            return self.tr.gettext("not set")
        tr = self.tr
        enum = self.fields.get(path, ("", ""))[1] == "enum"
        if isinstance(value, list):
            return _join([value_label(v, tr) if enum else _scalar(v, tr) for v in value], tr)
        if isinstance(value, Mapping):
            return ", ".join(f"{k}={_scalar(v, tr)}" for k, v in value.items())
        return value_label(value, tr) if enum else _scalar(value, tr)

    def condition(self, path: str, op: str, value: Any, actual: Any) -> str:
        tr = self.tr
        parts = (self.field(path), self.op(op), self.value(path, op, value))
        words = " ".join(w for w in parts if w)
        return tr.gettext("%(condition)s (actual: %(actual)s)") % {
            "condition": words,
            "actual": self.actual(path, actual),
        }

    def times(self, count_op: str, count_value: Any) -> str:
        """How often an event must have happened: "at least once", "exactly 3 times"."""
        tr = self.tr
        if count_op == "between" and isinstance(count_value, (list, tuple)):
            lo, hi = count_value
            return tr.ngettext(
                "between %(low)s and %(high)s time", "between %(low)s and %(high)s times", hi
            ) % {"low": lo, "high": hi}
        n = count_value if isinstance(count_value, int) else 0
        if count_op == "gte" and n == 1:
            return tr.gettext("at least once")
        if count_op == "gte":
            text = tr.ngettext("at least %(n)s time", "at least %(n)s times", n)
        elif count_op == "gt":
            text = tr.ngettext("more than %(n)s time", "more than %(n)s times", n)
        elif count_op == "eq":
            text = tr.ngettext("exactly %(n)s time", "exactly %(n)s times", n)
        elif count_op == "lte":
            text = tr.ngettext("at most %(n)s time", "at most %(n)s times", n)
        else:
            text = tr.ngettext("fewer than %(n)s time", "fewer than %(n)s times", n)
        return text % {"n": count_value}

    def event(self, name: str, count_op: str, count_value: Any, days: Any, actual: int) -> str:
        tr = self.tr
        if days is None:
            text = tr.gettext("did “%(event)s” %(times)s (actual: %(actual)s)")
        else:
            text = tr.ngettext(
                "did “%(event)s” %(times)s in the last day (actual: %(actual)s)",
                "did “%(event)s” %(times)s in the last %(days)s days (actual: %(actual)s)",
                days if isinstance(days, int) else 2,
            )
        return text % {
            "event": name,
            "times": self.times(count_op, count_value),
            "days": days,
            "actual": actual,
        }

    def group(self, kind: str, total: int, passed: int) -> str:
        tr = self.tr
        if kind == "all":
            text = tr.ngettext(
                "all of %(total)s rule must pass: %(passed)s passed",
                "all of %(total)s rules must pass: %(passed)s passed",
                total,
            )
        elif kind == "any":
            text = tr.ngettext(
                "at least one of %(total)s rule must pass: %(passed)s passed",
                "at least one of %(total)s rules must pass: %(passed)s passed",
                total,
            )
        else:
            text = tr.ngettext(
                "none of %(total)s rule may pass: %(passed)s passed",
                "none of %(total)s rules may pass: %(passed)s passed",
                total,
            )
        return text % {"total": total, "passed": passed}

    def segment(self, key: str, static: bool) -> str:
        if static:
            return self.tr.gettext("member of the static segment “%(key)s”") % {"key": key}
        return self.tr.gettext("member of the segment “%(key)s”") % {"key": key}

    def rollout(self, percent: float, salt: str) -> str:
        return self.tr.gettext("in the %(percent)s%% rollout “%(salt)s”") % {
            "percent": f"{percent:g}",
            "salt": salt,
        }
