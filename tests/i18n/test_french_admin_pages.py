# ruff: noqa: RUF001 (French text uses the typographic apostrophe)
"""The rest of the admin in French (Accept-Language: fr): a placement's change page, the
visitor preview, an analytics report, a site's page, a placement's revisions and schedule,
the translations matrix, a metric's page and a segment job's page; English stays the
default."""

from __future__ import annotations

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from analytics.models import Metric, VariantDay
from content.services.publishing import slot_publish
from segments.services.jobs import segment_upload_job_create
from segments.services.segments import segment_create
from tenancy.roles import Role
from tests.content.factories import localized_hero, placement_with_variants
from tests.factories import user_with_role
from tests.segments.factories import ProfileFactory

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


def test_revision_pages_in_french(site):
    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    client = _client(site, Role.PUBLISHER, "publisher")
    history = client.get(
        reverse("admin:content_placement_revisions", args=[placement.pk]), **FRENCH
    ).content.decode()
    assert "Révisions publiées" in history and "(en ligne)" in history
    assert "Journal d’audit" in history and "Différences / restauration" in history
    detail = client.get(
        reverse("admin:content_placement_revision", args=[placement.pk, 1]), **FRENCH
    ).content.decode()
    assert "La révision 1 a été publiée le" in detail and "Elle est en ligne." in detail
    assert "Restaurer la révision 1 (retour en arrière)" in detail
    assert "Différences : r1 → brouillon actuel" in detail and "Aucune différence." in detail
    english = client.get(
        reverse("admin:content_placement_revision", args=[placement.pk, 1]), **ENGLISH
    ).content.decode()
    assert "Restore revision 1 (roll back)" in english


def test_schedule_page_in_french(site):
    placement = placement_with_variants(site)
    client = _client(site, Role.PUBLISHER, "publisher")
    url = reverse("admin:content_placement_schedule", args=[placement.pk])
    client.post(
        url, {"action": "publish", "run_at_0": "2099-01-01", "run_at_1": "09:00:00"}, **FRENCH
    )
    text = client.get(url, **FRENCH).content.decode()
    assert "Une publication planifiée publie le brouillon" in text
    assert "fuseau horaire du site" in text and "Enregistrer la planification" in text
    assert "Planifications" in text and " le 1 janvier 2099 " in text


def test_translations_matrix_in_french(site):
    placement = localized_hero(site)
    client = _client(site, Role.EDITOR, "editor")
    text = client.get(
        reverse("admin:content_placement_change", args=[placement.pk]), **FRENCH
    ).content.decode()
    assert '<td class="missing">manquante</td>' in text  # the VIP variant has no translation
    assert "Le contenu de base est en en." in text
    assert "Modifiez les traductions d’une variante depuis son lien." in text


def test_metric_change_page_in_french(site):
    metric = Metric.objects.create(site=site, key="orders", name="Orders", kind="conversion")
    client = _client(site, Role.MARKETER, "marketer")
    text = client.get(
        reverse("admin:analytics_metric_change", args=[metric.pk]), **FRENCH
    ).content.decode()
    assert "Modification de métrique" in text  # the model's verbose name in the title
    assert "Conversion (l’événement a-t-il eu lieu)" in text  # a kind choice
    assert "Pas de plafond" in text and "Fenêtre (jours)" in text  # a choice, a label
    assert "Les événements comptent pendant ce nombre de jours" in text  # a help text


def test_segment_job_page_in_french(site):
    segment = segment_create(site=site, key="vip", name="VIP", kind="static")
    ProfileFactory(site=site, user_id="known-0")
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = segment_upload_job_create(segment=segment, file=b"user_id\nknown-0\nghost-1\n")
    client = _client(site, Role.MARKETER, "marketer")
    url = reverse("admin:segments_segment_job", args=[segment.pk, job.pk])
    text = client.get(url, **FRENCH).content.decode()
    assert "Import de <code>upload.csv</code>" in text
    assert "Faite" in text and "Terminé" in text  # the status and phase choices
    assert "1</span> correspondent à un profil enregistré" in text
    assert "ne correspondent à aucun profil connu" in text
    assert "Terminé : 2 ajoutés, 0 retirés, 2 membres." in text
    status = client.get(
        reverse("admin:segments_segment_job_status", args=[segment.pk, job.pk]), **FRENCH
    ).json()
    assert status["phase_label"] == "Terminé"
    assert status["result_text"] == "Terminé : 2 ajoutés, 0 retirés, 2 membres."
    english = client.get(url, **ENGLISH).content.decode()
    assert "Done: 2 added, 0 removed, 2 members." in english
