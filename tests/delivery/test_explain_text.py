"""decide's `explain` says in words why each segment the traces tried matched or not: the
criteria explanation tree (machine fields kept) with a sentence per node, in the visitor's
language (`context.language`, else Accept-Language) when the UI has it, else English."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

BODY = {
    "visitor": {"id": "a"},
    "context": {"weather": "rain", "city": "Berlin"},
    "placements": ["home_hero"],
    "screens": [],
    "explain": True,
}


def _details(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()["explain"]["segment_explanations"]


def test_each_tried_segment_is_explained_in_english_by_default(decide):
    details = _details(decide(BODY))
    # home_hero tries vip-hero (vip), detroit-shoes (detroit), then rain (rainy): it stops there.
    assert "detroit" in details and "rainy" in details
    condition = details["detroit"]["children"][0]
    assert details["detroit"]["passed"] is False
    assert condition["summary"] == "City (request) is “Detroit” (actual: “Berlin”)"
    assert condition["op_label"] == "is"
    assert (condition["field"], condition["op"], condition["value"], condition["actual"]) == (
        "context.city",
        "eq",
        "Detroit",
        "Berlin",
    )
    assert condition["path"] and condition["passed"] is False
    assert details["rainy"]["passed"] is True
    assert details["rainy"]["summary"] == "all of 1 rule must pass: 1 passed"
    assert details["rainy"]["children"][0]["summary"] == "Weather is Rain (actual: Rain)"
    assert details["vip"]["summary"] == "member of the static segment “vip”"
    assert "buyers" not in details  # after the variant that won: not tried


def test_context_language_picks_french(decide):
    body = {**BODY, "context": {**BODY["context"], "language": "fr-CA"}}
    details = _details(decide(body))
    condition = details["detroit"]["children"][0]
    assert condition["summary"] == "Ville (requête) est “Detroit” (valeur réelle : “Berlin”)"
    assert (condition["op"], condition["op_label"]) == ("eq", "est")  # machine fields kept
    assert details["rainy"]["children"][0]["summary"] == "Météo est Pluie (valeur réelle : Pluie)"
    assert details["rainy"]["summary"] == "la règle doit réussir (1) : 1 réussie"


def test_accept_language_picks_french_and_unknown_languages_fall_back_to_english(decide):
    french = _details(decide(BODY, HTTP_ACCEPT_LANGUAGE="de-DE,fr;q=0.8"))
    assert french["rainy"]["children"][0]["summary"] == "Météo est Pluie (valeur réelle : Pluie)"
    german = _details(decide(BODY, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9"))
    assert german["rainy"]["children"][0]["summary"] == "Weather is Rain (actual: Rain)"


def test_without_explain_nothing_is_added(decide):
    assert "explain" not in decide({**BODY, "explain": False}).json()
