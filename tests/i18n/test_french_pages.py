"""Real pages in French (Accept-Language: fr through LocaleMiddleware): the segment admin,
the builder widget's language and labels, and an explanation from the visitor tester's
endpoint. English stays the default."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.test import Client

from segments.models import SegmentStatus
from tenancy.roles import Role
from tests.factories import user_with_role
from tests.segments.factories import SegmentFactory

pytestmark = pytest.mark.django_db

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


@pytest.fixture
def marketer_client(site):
    client = Client()
    client.force_login(user_with_role(site, Role.MARKETER, username="marketer"))
    return client


def _builder_attrs(page: str) -> dict[str, str]:
    tag = re.search(r"<div class=\"pz-builder\"[^>]*>", page).group(0)
    return {k: html.unescape(v) for k, v in re.findall(r'(data-[\w-]+)="([^"]*)"', tag)}


def test_segment_admin_pages_in_french(site, marketer_client):
    draft = SegmentFactory(site=site, key="vip", name="VIP", status=SegmentStatus.DRAFT)
    listing = marketer_client.get("/admin/segments/segment/", **FRENCH).content.decode()
    assert '<html lang="fr"' in listing
    assert "Brouillon : ne retient personne" in listing  # our status column
    assert "Archiver les segments sélectionnés" in listing  # our action
    assert "Déconnexion" in listing  # Django's own admin words

    page = marketer_client.get(f"/admin/segments/segment/{draft.pk}/change/", **FRENCH)
    text = page.content.decode()
    assert "Ce segment est un brouillon" in text and "Critères" in text
    assert "Membres (API)" in text and "Enregistrer" in text
    attrs = _builder_attrs(text)
    assert attrs["data-lang"] == "fr"
    labels = json.loads(attrs["data-labels"])
    assert labels["values"]["non_binary"] == "Non binaire"
    assert labels["fields"]["profile.gender"] == "Genre"
    assert attrs["data-event-properties-url"] == "/admin/segments/segment/event-properties/"


def test_english_stays_the_default(site, marketer_client):
    draft = SegmentFactory(site=site, key="vip", name="VIP", status=SegmentStatus.DRAFT)
    text = marketer_client.get(f"/admin/segments/segment/{draft.pk}/change/", **ENGLISH)
    text = text.content.decode()
    assert "This segment is a Draft" in text
    attrs = _builder_attrs(text)
    assert attrs["data-lang"] == "en"
    assert json.loads(attrs["data-labels"])["values"]["non_binary"] == "Non-binary"


def test_an_explanation_in_french(site, marketer_client):
    body = {
        "site": site.pk,
        "criteria": {
            "all": [
                {"field": "profile.gender", "op": "eq", "value": "non_binary"},
                {"event": "purchase", "count": {"op": "gte", "value": 2}, "within_days": 30},
            ]
        },
        "document": {"profile": {"gender": "female"}},
    }
    response = marketer_client.post(
        "/api/v1/segments/preview", body, content_type="application/json", **FRENCH
    )
    assert response.status_code == 200, response.content
    root = response.json()["explanation"]
    gender, purchase = root["children"]
    assert root["summary"] == "les 2 règles doivent toutes réussir : 0 réussies"
    assert gender["summary"] == "Genre est Non binaire (valeur réelle : Femme)"
    assert (gender["op"], gender["value"], gender["actual"]) == ("eq", "non_binary", "female")
    assert purchase["summary"] == (
        "a fait « purchase » au moins 2 fois dans les 30 derniers jours (valeur réelle : 0)"
    )
    english = marketer_client.post(
        "/api/v1/segments/preview", body, content_type="application/json", **ENGLISH
    ).json()["explanation"]
    assert english["children"][0]["summary"] == "Gender is Non-binary (actual: Female)"
