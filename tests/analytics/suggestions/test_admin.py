"""The "Segment suggestions" admin page: start a run, read it, save a suggestion as a
dynamic segment; hostile parameters are form errors; sites and permissions are respected."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.suggestions.models import SuggestionRun
from segments.models import Segment, SegmentKind, SegmentStatus
from segments.selectors.definitions import criteria_compile
from segments.selectors.members import segment_count
from segments.services.segments import segment_validate_criteria
from tenancy.roles import Role
from tests.analytics.suggestions.data import plant_clusters, plant_rfm
from tests.factories import UserFactory, user_with_role

PAGE = "admin:analytics_suggestionrun_page"
pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, site):
    user = user_with_role(site, Role.MARKETER, username="mk")
    client.force_login(user)
    return client


def _start(client, site, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse(PAGE), {"site": site.pk, "event": "purchase", "window_days": 90, **data}
        )


def test_run_from_the_page_and_save_a_suggestion(
    marketer, site, django_capture_on_commit_callbacks
) -> None:
    plant_rfm(site)
    response = _start(marketer, site, django_capture_on_commit_callbacks)
    run = SuggestionRun.objects.get(site=site)
    assert response.status_code == 302 and f"run={run.pk}" in response["Location"]
    page = marketer.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Champions" in html and ">Save as segment</button>" in html
    assert "did “purchase” at least 6 times in the last 90 days" in html  # the labels' words
    index = next(i for i, s in enumerate(run.suggestions) if s["key"] == "champions")
    saved = marketer.post(reverse("admin:analytics_suggestionrun_save", args=[run.pk, index]))
    segment = Segment.objects.get(site=site)
    assert saved.status_code == 302
    assert saved["Location"] == reverse("admin:segments_segment_change", args=[segment.pk])
    assert segment.kind == SegmentKind.DYNAMIC and segment.status == SegmentStatus.DRAFT
    assert segment.criteria == run.suggestions[index]["criteria"]
    segment_validate_criteria(site=site, criteria=segment.criteria, key=segment.key)
    assert segment_count(segment=segment) == run.suggestions[index]["size"] == 10
    # Saving again gives a second segment under another key.
    marketer.post(reverse("admin:analytics_suggestionrun_save", args=[run.pk, index]))
    keys = sorted(Segment.objects.filter(site=site).values_list("key", flat=True))
    assert len(keys) == 2 and keys[1] == f"{keys[0]}-2"
    run.refresh_from_db()
    assert run.suggestions[index]["segment_id"] is not None


def test_cluster_cards_show_quality_and_counts_match_saved_segments(
    marketer, site, django_capture_on_commit_callbacks
) -> None:
    plant_clusters(site, per_group=40)
    _start(marketer, site, django_capture_on_commit_callbacks)
    run = SuggestionRun.objects.get(site=site)
    html = marketer.get(reverse(PAGE), {"site": site.pk}).content.decode()
    assert "of the cluster" in html and "of those it selects are in it" in html
    for index, s in enumerate(run.suggestions):
        marketer.post(reverse("admin:analytics_suggestionrun_save", args=[run.pk, index]))
        segment = Segment.objects.order_by("-pk").first()
        assert segment_count(segment=segment) == s["size"]
        criteria_compile(site=site, tree=segment.criteria, segment_key=segment.key)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"window_days": 0}, "window_days"),
        ({"window_days": -5}, "window_days"),
        ({"window_days": 10**12}, "window_days"),
        ({"window_days": "NaN"}, "window_days"),
        ({"window_days": "1e3"}, "window_days"),
        ({"event": "no-such-event"}, "event"),
        ({"event": "x" * 5000}, "event"),
    ],
)
def test_hostile_parameters_are_form_errors(
    marketer, site, django_capture_on_commit_callbacks, data, field
) -> None:
    plant_rfm(site, per_group=2)
    response = _start(marketer, site, django_capture_on_commit_callbacks, **data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not SuggestionRun.objects.exists()


def test_the_app_list_entry_opens_the_page(marketer, site) -> None:
    response = marketer.get(reverse("admin:analytics_suggestionrun_changelist"), {"site": site.pk})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse(PAGE)}?site={site.pk}"


def test_sites_are_isolated(client, site, other_site, django_capture_on_commit_callbacks) -> None:
    plant_rfm(other_site)
    other_admin = user_with_role(other_site, Role.MARKETER, username="other")
    client.force_login(other_admin)
    _start(client, other_site, django_capture_on_commit_callbacks)
    foreign = SuggestionRun.objects.get(site=other_site)
    user_with_role(site, Role.MARKETER, username="mk")
    client.force_login(UserFactory(username="mk"))
    # Asking for the other site shows one's own site, never the other's run.
    page = client.get(reverse(PAGE), {"site": other_site.pk, "run": foreign.pk})
    assert page.context["site"] == site and page.context["run"] is None
    assert "Champions" not in page.content.decode()
    # Saving the other site's suggestion, or opening its run: not found.
    saved = client.post(reverse("admin:analytics_suggestionrun_save", args=[foreign.pk, 0]))
    assert saved.status_code == 404
    assert (
        client.get(reverse("admin:analytics_suggestionrun_change", args=[foreign.pk])).status_code
        == 404
    )
    # Starting a run on the other site (forged site id) runs on one's own, or not at all.
    _start(client, other_site, django_capture_on_commit_callbacks)
    assert SuggestionRun.objects.filter(site=other_site).count() == 1
    assert not Segment.objects.exists()


def test_viewers_see_but_cannot_run_or_save(
    client, marketer, site, django_capture_on_commit_callbacks
) -> None:
    plant_rfm(site)
    _start(marketer, site, django_capture_on_commit_callbacks)
    run = SuggestionRun.objects.get(site=site)
    viewer = user_with_role(site, Role.VIEWER, username="viewer")
    client.force_login(viewer)
    page = client.get(reverse(PAGE), {"site": site.pk})
    html = page.content.decode()
    assert page.status_code == 200 and "Champions" in html
    assert ">Save as segment</button>" not in html and 'value="Suggest segments"' not in html
    assert (
        client.post(reverse("admin:analytics_suggestionrun_save", args=[run.pk, 0])).status_code
        == 403
    )
    assert _start(client, site, django_capture_on_commit_callbacks).status_code == 403
    assert not Segment.objects.exists() and SuggestionRun.objects.count() == 1


def test_a_missing_suggestion_index_is_a_message_not_a_500(
    marketer, site, django_capture_on_commit_callbacks
) -> None:
    plant_rfm(site)
    _start(marketer, site, django_capture_on_commit_callbacks)
    run = SuggestionRun.objects.get(site=site)
    response = marketer.post(reverse("admin:analytics_suggestionrun_save", args=[run.pk, 999]))
    assert response.status_code == 302 and f"run={run.pk}" in response["Location"]
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/analytics/suggestionrun/99999999999999999999999999/save/0/",
        "/admin/analytics/suggestionrun/1/save/99999999999999999999999999/",
        "/admin/analytics/suggestionrun/99999999999999999999999999/change/",
        "/admin/analytics/suggestionrun/suggest/?site=1e9&run=99999999999999999999999999",
        "/admin/analytics/suggestionrun/suggest/?site=%00&run=-1",
    ],
)
def test_hostile_urls_are_never_a_500(client, site, path) -> None:
    user_with_role(site, Role.MARKETER, username="mk")
    client.raise_request_exception = False
    client.force_login(UserFactory(username="mk"))
    response = client.post(path) if "/save/" in path else client.get(path)
    assert response.status_code in (200, 302, 404)
