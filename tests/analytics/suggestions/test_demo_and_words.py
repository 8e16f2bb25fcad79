"""The demo's run (once per site) and the plain words of trees, from the labels module."""

from __future__ import annotations

import pytest

from analytics.suggestions import demo
from analytics.suggestions.models import SuggestionRun, SuggestionRunStatus
from analytics.suggestions.words import describe_fact, describe_tree
from segments.criteria import BUILTIN_FIELDS, Labels
from tests.analytics.suggestions.data import plant_rfm


@pytest.mark.django_db
def test_demo_seeds_one_run(site, django_capture_on_commit_callbacks) -> None:
    plant_rfm(site, per_group=3)
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(site)
        demo.seed(site)
    run = SuggestionRun.objects.get(site=site)
    assert run.status == SuggestionRunStatus.DONE
    assert run.parameters["event"] == "purchase"  # the conversion event, by default


def test_tree_in_words_uses_the_catalog_labels() -> None:
    labels = Labels.from_catalog(catalog=BUILTIN_FIELDS)
    tree = {
        "all": [
            {"event": "purchase", "count": {"op": "gte", "value": 4}, "within_days": 90},
            {"event": "purchase", "count": {"op": "eq", "value": 0}, "within_days": 14},
            {"field": "visitor.last_seen", "op": "within_last", "value": {"days": 14}},
            {
                "any": [
                    {"field": "visitor.visit_count", "op": "between", "value": [3, 40]},
                    {"field": "context.device_type", "op": "eq", "value": "mobile"},
                ]
            },
        ]
    }
    words = describe_tree(tree, labels)
    assert words.startswith(
        "did “purchase” at least 4 times in the last 90 days and "
        "did not do “purchase” in the last 14 days and "
    )
    assert "is within the last 14 days" in words
    assert "(" in words and " or " in words and "Mobile" in words
    assert "actual" not in words  # no explanation leftovers


class _Bracketing:
    """A stand-in translator: proves every word goes through it."""

    @staticmethod
    def gettext(message: str) -> str:
        return f"[{message}]"

    @staticmethod
    def ngettext(singular: str, plural: str, number: int) -> str:
        return f"[{singular if number == 1 else plural}]"


def test_words_are_translated() -> None:
    labels = Labels(translator=_Bracketing())
    text = describe_tree({"all": [{"event": "buy", "within_days": 7}]}, labels)
    assert text == "[did “buy” [at least once] in the last 7 days]"
    fact = {"kind": "visits", "cluster": 9.0, "overall": 3.0}
    assert describe_fact(fact, labels) == "[visit 3x more often than average]"
