# ruff: noqa: RUF001 (French text uses the typographic apostrophe)
"""The rest of the admin in French (Accept-Language: fr): a placement's change page, the
visitor preview, an analytics report and a site's page; English stays the default."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.models import VariantDay
from content.services.publishing import slot_publish
from tenancy.roles import Role
from tests.content.factories import placement_with_variants
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _client(site, role, username):
    client = Client()
    client.force_login(user_with_role(site, role, username=username))
    return client


def test_placement_change_page_in_french(site):
    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    client = _client(site, Role.PUBLISHER, "publisher")
    url = reverse("admin:content_placement_change", args=[placement.pk])
    text = client.get(url, **FRENCH).content.decode()
    assert '<html lang="fr"' in text
    assert "Aperçu en tant que visiteur" in text and "Révisions &amp; journal" in text
    assert "Publier le brouillon" in text and "Dépublier" in text
    assert "révision 1 en ligne" in text
    assert "le brouillon lui est identique" in text  # the publishing read-only field
    assert "Variantes de contenu" in text  # the inline's verbose_name_plural
    assert "Priorité" in text and "Texte brut" in text  # a field label and a kind choice
    english = client.get(url, **ENGLISH).content.decode()
    assert "Publish draft" in english and "live revision 1" in english


def test_visitor_preview_in_french(site):
    placement_with_variants(site)
    client = _client(site, Role.VIEWER, "viewer")
    url = reverse("admin:content_preview_visitor")
    page = client.get(url, **FRENCH).content.decode()
    assert "Aperçu en tant que visiteur" in page and "Document du visiteur (JSON)" in page
    assert "Publié (ce que les visiteurs reçoivent maintenant)" in page
    result = client.post(
        url,
        {"site": site.pk, "source": "draft", "document": '{"context": {}}'},
        **FRENCH,
    ).content.decode()
    assert "Résultat (brouillons, le" in result
    assert "par défaut (aucune variante ciblée n’a été retenue)" in result
    error = client.post(url, {"site": site.pk, "source": "draft", "document": "{"}, **FRENCH)
    assert "JSON non valide" in error.content.decode()


def test_analytics_report_in_french(site):
    VariantDay.objects.create(
        site=site,
        day=timezone.now().date(),
        slot="hero",
        variant="a",
        reason="default",
        impressions=10,
        visitors=5,
        clicks=1,
    )
    client = _client(site, Role.VIEWER, "viewer")
    text = client.get(f"/admin/reports/?site={site.pk}", **FRENCH).content.decode()
    assert "Trafic par jour" in text and "Période" in text and "Afficher" in text
    assert "7 derniers jours" in text or "30 derniers jours" in text
    assert "trop peu pour compter" in text
    english = client.get(f"/admin/reports/?site={site.pk}", **ENGLISH).content.decode()
    assert "Traffic per day" in english


def test_site_page_and_index_in_french(site):
    client = _client(site, Role.SITE_ADMIN, "siteadmin")
    page = client.get(reverse("admin:tenancy_site_change", args=[site.pk]), **FRENCH)
    text = page.content.decode()
    assert "Origines de navigateur autorisées" in text
    changelist = client.get(reverse("admin:tenancy_site_changelist"), **FRENCH).content.decode()
    assert "Renouveler le secret d’identité des sites sélectionnés" in changelist
    index = client.get(reverse("admin:index"), **FRENCH).content.decode()
    assert "Segments et contenus" in index
