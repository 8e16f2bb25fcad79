"""What a marketer or an editor expects of the admin: their only site preselected, keys
suggested from names, the audit log as sentences, schedule times in the site's time zone,
segment status and audience size in the list, a hint on Draft segments, and the Celery
scheduler's models out of their way."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from content.models import AuditEntry, PublishSchedule
from content.services.publishing import slot_publish
from segments.models import SegmentStatus
from tenancy.roles import Role
from tests.content.factories import placement_with_variants
from tests.factories import SiteFactory, user_with_role
from tests.segments.factories import ProfileFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def client_for(site, role, **kwargs):
    client = Client()
    client.force_login(user_with_role(site, role, **kwargs))
    return client


@pytest.mark.parametrize(
    "url, role",
    [
        ("admin:segments_segment_add", Role.MARKETER),
        ("admin:content_placement_add", Role.EDITOR),
        ("admin:content_screen_add", Role.EDITOR),
        ("admin:segments_field_add", Role.MARKETER),
        ("admin:tenancy_apikey_add", Role.SITE_ADMIN),
    ],
)
def test_the_only_site_is_preselected(site, other_site, url, role):
    page = client_for(site, role).get(reverse(url))
    assert page.context["adminform"].form["site"].value() == site.pk


def test_no_site_is_preselected_for_a_user_of_two_sites(site, other_site):
    from tenancy.services import role_grant

    client = Client()
    user = user_with_role(site, Role.MARKETER)
    role_grant(site=other_site, user=user, role=Role.MARKETER)
    client.force_login(user)
    page = client.get(reverse("admin:segments_segment_add"))
    assert page.context["adminform"].form["site"].value() is None


@pytest.mark.parametrize(
    "url, role",
    [
        ("admin:segments_segment_add", Role.MARKETER),
        ("admin:content_placement_add", Role.EDITOR),
        ("admin:content_screen_add", Role.EDITOR),
    ],
)
def test_keys_are_suggested_from_names(site, url, role):
    page = client_for(site, role).get(reverse(url))
    fields = {f["field"].name: f["dependencies"] for f in page.context["prepopulated_fields"]}
    assert [d.name for d in fields["key"]] == ["name"]


def test_key_is_not_prepopulated_on_the_change_page(site):
    segment = SegmentFactory(site=site)
    page = client_for(site, Role.MARKETER).get(
        reverse("admin:segments_segment_change", args=[segment.pk])
    )
    assert page.status_code == 200 and page.context["prepopulated_fields"] == []


def test_audit_entries_read_as_sentences(site):
    placement = placement_with_variants(site)
    publisher = user_with_role(site, Role.PUBLISHER, username="ana", first_name="Ana")
    slot_publish(slot=placement, user=publisher)
    slot_publish(slot=placement, user=publisher)
    entry = AuditEntry.objects.order_by("-pk").first()
    client = Client()
    client.force_login(publisher)
    listing = client.get(reverse("admin:content_auditentry_changelist")).content.decode()
    assert "Ana published placement home_hero (revision 2)" in listing
    history = client.get(reverse("admin:content_placement_revisions", args=[placement.pk]))
    assert "Ana published placement home_hero (revision 2)" in history.content.decode()
    assert entry.revision_number == 2


def test_schedule_times_are_in_the_sites_time_zone(site):
    site.timezone = "America/Detroit"
    site.save()
    placement = placement_with_variants(site)
    client = client_for(site, Role.PUBLISHER)
    url = reverse("admin:content_placement_schedule", args=[placement.pk])
    assert "America/Detroit" in client.get(url).content.decode()
    res = client.post(url, {"action": "publish", "run_at_0": "2099-07-01", "run_at_1": "09:00:00"})
    assert res.status_code == 302
    schedule = PublishSchedule.objects.get()
    expected = datetime(2099, 7, 1, 9, 0, tzinfo=ZoneInfo("America/Detroit"))
    assert schedule.run_at == expected
    page = client.get(url).content.decode()
    assert "July 1, 2099, 9 a.m." in page and "EDT" in page


def test_segment_list_shows_status_audience_and_draft_hint(site):
    for i in range(3):
        ProfileFactory(site=site, traits={"city": "Detroit" if i else "Boston"})
    SegmentFactory(
        site=site,
        key="detroit",
        name="Detroit",
        criteria={"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]},
    )
    draft = SegmentFactory(site=site, key="later", name="Later", status=SegmentStatus.DRAFT)
    client = client_for(site, Role.MARKETER)
    listing = client.get(reverse("admin:segments_segment_changelist"))
    rows = {seg.key: seg for seg in listing.context["cl"].result_list}
    admin_obj = listing.context["cl"].model_admin
    assert admin_obj.audience_size(rows["detroit"]) == "2"
    assert admin_obj.audience_size(rows["later"]) == "3"
    assert "Draft: matches nobody" in listing.content.decode()
    page = client.get(reverse("admin:segments_segment_change", args=[draft.pk])).content.decode()
    assert "This segment is a Draft" in page


def test_segment_list_counts_are_bounded_and_cached(site, monkeypatch):
    from segments.admin import AUDIENCE_COUNTS_PER_PAGE
    from segments.selectors import audience_sizes

    counted: list[str] = []
    real_count = audience_sizes.segment_count

    def counting(*, segment):
        counted.append(segment.key)
        return real_count(segment=segment)

    monkeypatch.setattr(audience_sizes, "segment_count", counting)
    ProfileFactory(site=site, traits={"age": 30})
    for i in range(AUDIENCE_COUNTS_PER_PAGE + 5):
        criteria = {"all": [{"field": "profile.age", "op": "gt", "value": i}]}
        SegmentFactory(site=site, key=f"s{i:02d}", criteria=criteria)
    client = client_for(site, Role.MARKETER)
    url = reverse("admin:segments_segment_changelist")
    first = client.get(url).content.decode()
    assert len(counted) == AUDIENCE_COUNTS_PER_PAGE  # a bounded number of counts per view
    assert first.count("not counted yet") == 5
    second = client.get(url).content.decode()
    assert len(counted) == AUDIENCE_COUNTS_PER_PAGE + 5 and "not counted yet" not in second
    client.get(url)
    assert len(counted) == AUDIENCE_COUNTS_PER_PAGE + 5  # the third view is served from the cache


def test_scheduler_models_are_out_of_a_marketers_way(site):
    page = client_for(site, Role.MARKETER).get(reverse("admin:index")).content.decode()
    assert "Periodic tasks" not in page and "Segments" in page
    assert client_for(site, Role.SITE_ADMIN).get("/admin/django_celery_beat/").status_code in (
        403,
        404,
    )


def test_other_sites_are_untouched_by_preselection(site):
    SiteFactory(slug="gamma")
    page = client_for(site, Role.MARKETER).get(reverse("admin:segments_segment_add"))
    assert page.context["adminform"].form["site"].value() == site.pk
