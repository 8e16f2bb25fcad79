import pytest
from django.test import Client
from django.urls import reverse

from content.models import ContentVariant, Placement, PublishSchedule
from content.services.drafts import content_variant_create
from content.services.publishing import slot_publish
from tests.content.factories import (
    ScreenFactory,
    ScreenVariantFactory,
    SegmentFactory,
    placement_with_variants,
)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def login(site, role):
    user = user_with_role(site, role)
    client = Client()
    client.force_login(user)
    return client


def change_data(placement, bodies=None, **overrides):
    variants = list(placement.variants.order_by("priority", "key"))
    data = {
        "name": placement.name,
        "description": placement.description,
        "kind": placement.kind,
        "json_schema": "",
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": str(len(variants)),
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
    }
    for i, v in enumerate(variants):
        data.update(
            {
                f"variants-{i}-id": str(v.pk),
                f"variants-{i}-placement": str(placement.pk),
                f"variants-{i}-key": v.key,
                f"variants-{i}-name": v.name,
                f"variants-{i}-segment": str(v.segment_id or ""),
                f"variants-{i}-priority": str(v.priority),
                f"variants-{i}-starts_at_0": "",
                f"variants-{i}-starts_at_1": "",
                f"variants-{i}-ends_at_0": "",
                f"variants-{i}-ends_at_1": "",
                f"variants-{i}-body": (bodies or {}).get(v.key, v.body),
            }
        )
    data.update(overrides)
    return data


def url(name, *args):
    return reverse(f"admin:content_placement_{name}", args=args)


@pytest.mark.parametrize("role", ["viewer", "marketer", "editor", "publisher", "site_admin"])
def test_admin_permissions_by_role(site, role):
    seg = SegmentFactory(site=site, key="vip")
    placement = placement_with_variants(site, targeted=[("vip", seg, 10)])
    client = login(site, role)
    assert client.get(url("changelist")).status_code == 200
    assert client.get(url("change", placement.pk)).status_code == 200
    default = placement.variants.get(key="default")
    res = client.post(
        url("change", placement.pk), change_data(placement, bodies={"default": "<p>Edited</p>"})
    )
    edited = ContentVariant.objects.get(pk=default.pk).body == "<p>Edited</p>"
    publish = client.post(url("publish", placement.pk))
    placement.refresh_from_db()
    if role in ("editor", "publisher", "site_admin"):
        assert res.status_code == 302, res.context["errors"] if res.context else res
        assert edited
    else:
        assert res.status_code == 403 and not edited
    if role in ("publisher", "site_admin"):
        assert publish.status_code == 302 and placement.live_revision.number == 1
    else:
        assert publish.status_code == 403 and placement.live_revision_id is None


def test_admin_tenant_isolation(site, other_site):
    theirs = placement_with_variants(other_site, key="their_hero")
    placement_with_variants(site)
    client = login(site, "site_admin")
    page = client.get(url("changelist"))
    assert b"their_hero" not in page.content and b"home_hero" in page.content
    assert client.get(url("change", theirs.pk)).status_code == 302  # "does not exist" → index
    assert client.post(url("publish", theirs.pk)).status_code == 404
    assert client.get(url("revisions", theirs.pk)).status_code == 404


def test_segment_picker_lists_only_the_sites_segments(site, other_site):
    SegmentFactory(site=site, key="ours")
    theirs = SegmentFactory(site=other_site, key="theirs")
    placement = placement_with_variants(site)
    client = login(site, "editor")
    page = client.get(url("change", placement.pk))
    form = page.context["inline_admin_formsets"][0].formset.forms[0]
    keys = {s.key for s in form.fields["segment"].queryset}
    assert keys == {"ours"}
    data = change_data(placement, **{"variants-0-segment": str(theirs.pk)})
    res = client.post(url("change", placement.pk), data)
    assert res.status_code == 200  # re-rendered with errors
    assert ContentVariant.objects.get(placement=placement, key="default").segment_id is None


def test_exactly_one_default_in_admin(site):
    seg = SegmentFactory(site=site)
    placement = placement_with_variants(site, targeted=[("t", seg, 1)])
    client = login(site, "editor")
    data = change_data(placement)
    data = {k: ("" if k.endswith("-segment") else v) for k, v in data.items()}  # two defaults
    res = client.post(url("change", placement.pk), data)
    assert res.status_code == 200
    assert "Exactly one variant must be the default" in res.content.decode()


def test_admin_sanitises_html(site):
    placement = placement_with_variants(site)
    client = login(site, "editor")
    body = '<p>Hi</p><script>alert("x")</script><img src=x onerror="alert(1)">'
    res = client.post(url("change", placement.pk), change_data(placement, bodies={"default": body}))
    assert res.status_code == 302
    stored = placement.variants.get(key="default").body
    assert "<script" not in stored and "onerror" not in stored and "<p>Hi</p>" in stored


def test_admin_revisions_diff_and_rollback(site):
    placement = placement_with_variants(site)
    client = login(site, "publisher")
    client.post(url("publish", placement.pk))
    client.post(
        url("change", placement.pk), change_data(placement, bodies={"default": "<p>Two</p>"})
    )
    client.post(url("publish", placement.pk))
    history = client.get(url("revisions", placement.pk))
    assert history.status_code == 200 and b"r2" in history.content
    detail = client.get(url("revision", placement.pk, 1))
    assert detail.status_code == 200
    assert (
        "<p>Two</p>" in detail.context["diff_live"]
        and "<p>Default</p>" in detail.context["diff_live"]
    )
    assert client.post(url("rollback", placement.pk, 1), {"confirm": "y"}).status_code == 302
    placement.refresh_from_db()
    assert placement.live_revision.number == 3 and placement.live_revision.restored_from == 1
    assert placement.variants.get(key="default").body == "<p>Default</p>"
    # An editor can read the history but not roll back.
    editor = login(site, "editor")
    assert editor.get(url("revision", placement.pk, 1)).status_code == 200
    assert editor.post(url("rollback", placement.pk, 2)).status_code == 403


def test_admin_schedule(site):
    placement = placement_with_variants(site)
    client = login(site, "publisher")
    res = client.post(
        url("schedule", placement.pk),
        {"action": "publish", "run_at_0": "2099-01-01", "run_at_1": "09:00:00", "note": "new year"},
    )
    assert res.status_code == 302
    assert PublishSchedule.objects.get().snapshot["key"] == "home_hero"
    assert login(site, "editor").get(url("schedule", placement.pk)).status_code == 403


def test_admin_schedule_shows_service_errors_on_the_form(site):
    placement = placement_with_variants(site)
    client = login(site, "publisher")
    past = client.post(
        url("schedule", placement.pk),
        {"action": "unpublish", "run_at_0": "2001-01-01", "run_at_1": "09:00:00"},
    )
    assert past.status_code == 200
    assert past.context["form"].errors == {"run_at": ["Choose a time in the future."]}
    placement.variants.update(segment=SegmentFactory(site=site))  # no default left
    broken = client.post(
        url("schedule", placement.pk),
        {"action": "publish", "run_at_0": "2099-01-01", "run_at_1": "09:00:00"},
    )
    assert broken.status_code == 200
    assert "Exactly one default variant" in str(broken.context["form"].non_field_errors())
    assert not PublishSchedule.objects.exists()


def _demo_slots(site):
    rain = SegmentFactory(
        site=site,
        key="rainy",
        criteria={"all": [{"field": "context.weather", "op": "eq", "value": "rain"}]},
    )
    placement = placement_with_variants(site, targeted=[("umbrella", rain, 1)])
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    ScreenVariantFactory(screen=screen, key="rainy-design", segment=rain, priority=1)
    slot_publish(slot=placement)
    slot_publish(slot=screen)
    return rain


def test_preview_as_visitor(site):
    _demo_slots(site)
    client = login(site, "viewer")
    assert client.get(reverse("admin:content_preview_visitor")).status_code == 200
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": '{"context": {"weather": "rain"}}'},
    )
    assert res.status_code == 200, res.context["form"].errors
    rows = {(r.slot_kind, r.slot_key): r for r in res.context["result"].rows}
    assert rows[("placement", "home_hero")].variant_key == "umbrella"
    assert rows[("placement", "home_hero")].reason == {"kind": "segment", "segment": "rainy"}
    assert rows[("screen", "home")].variant_key == "rainy-design"
    assert res.context["result"].matched_segments == ["rainy"]
    dry = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": '{"context": {"weather": "sun"}}'},
    )
    rows = {r.slot_key: r for r in dry.context["result"].rows}
    assert rows["home_hero"].variant_key == "default" and rows["home_hero"].reason == {
        "kind": "default"
    }
    bad = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": "{"},
    )
    assert "Not valid JSON" in bad.content.decode()


def test_preview_as_visitor_with_stored_profile(site):
    from segments.models import Profile

    _demo_slots(site)
    profile = Profile.objects.create(site=site, user_id="u-1", last_context={"weather": "rain"})
    client = login(site, "viewer")
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "profile": profile.pk},
    )
    assert res.status_code == 200
    rows = {r.slot_key: r for r in res.context["result"].rows}
    assert "home_hero" in rows


def test_preview_as_segment_and_drafts(site):
    rain = _demo_slots(site)
    client = login(site, "editor")
    res = client.post(
        reverse("admin:content_preview_segment"),
        {"site": site.pk, "segment": rain.pk, "source": "published"},
    )
    rows = {r.slot_key: r for r in res.context["result"].rows}
    assert (
        rows["home_hero"].variant_key == "umbrella" and rows["home"].variant_key == "rainy-design"
    )
    # Drafts: a new, unpublished targeted variant shows up only in the draft preview.
    placement = Placement.objects.get(key="home_hero")
    content_variant_create(
        placement=placement, key="storm", name="Storm", body="x", segment=rain, priority=0
    )
    published = client.post(
        reverse("admin:content_preview_segment"),
        {"site": site.pk, "segment": rain.pk, "source": "published"},
    )
    draft = client.post(
        reverse("admin:content_preview_segment"),
        {"site": site.pk, "segment": rain.pk, "source": "draft"},
    )
    assert {r.slot_key: r.variant_key for r in published.context["result"].rows}[
        "home_hero"
    ] == "umbrella"
    assert {r.slot_key: r.variant_key for r in draft.context["result"].rows}["home_hero"] == "storm"


def test_preview_inactive_segment_never_matches_visitors(site):
    from segments.models import SegmentStatus

    rain = _demo_slots(site)
    rain.status = SegmentStatus.ARCHIVED
    rain.save()
    client = login(site, "viewer")
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": '{"context": {"weather": "rain"}}'},
    )
    assert {r.slot_key: r.variant_key for r in res.context["result"].rows}["home_hero"] == "default"
    seg = client.post(
        reverse("admin:content_preview_segment"),
        {"site": site.pk, "segment": rain.pk, "source": "published"},
    )
    assert any("archived" in w for w in seg.context["result"].warnings)


def test_admin_pages_render(site):
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    slot_publish(slot=screen)
    client = login(site, "publisher")
    for path in [
        url("add"),
        reverse("admin:content_screen_add"),
        reverse("admin:content_screen_change", args=[screen.pk]),
        reverse("admin:content_screen_revisions", args=[screen.pk]),
        reverse("admin:content_screen_revision", args=[screen.pk, 1]),
        reverse("admin:content_screen_schedule", args=[screen.pk]),
        reverse("admin:content_auditentry_changelist"),
        reverse("admin:content_publishschedule_changelist"),
        reverse("admin:content_designschema_changelist"),
        reverse("admin:content_preview_segment"),
    ]:
        assert client.get(path).status_code == 200, path
    page = client.get(reverse("admin:content_screen_change", args=[screen.pk])).content.decode()
    assert "Publish draft" in page and "live revision 1" in page


def test_admin_add_placement_with_variants(site):
    seg = SegmentFactory(site=site, key="students")
    client = login(site, "editor")
    data = {
        "site": str(site.pk),
        "key": "promo",
        "name": "Promo",
        "description": "",
        "kind": "text",
        "json_schema": "",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
    }
    for i, (key, segment) in enumerate([("default", ""), ("students", str(seg.pk))]):
        data.update(
            {
                f"variants-{i}-key": key,
                f"variants-{i}-name": key,
                f"variants-{i}-segment": segment,
                f"variants-{i}-priority": "10",
                f"variants-{i}-starts_at_0": "",
                f"variants-{i}-starts_at_1": "",
                f"variants-{i}-ends_at_0": "",
                f"variants-{i}-ends_at_1": "",
                f"variants-{i}-body": f"Hello {key}",
            }
        )
    res = client.post(url("add"), data)
    assert res.status_code == 302, res.context["errors"]
    placement = Placement.objects.get(key="promo")
    assert placement.variants.count() == 2 and placement.live_revision_id is None


def test_changelists_query_count_does_not_grow_with_rows(site):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path):
        client.get(path)  # the first request of a session makes a few one-off queries
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(path)
        assert page.status_code == 200
        return len(ctx.captured_queries), page.content.decode()

    client = login(site, "publisher")
    placement_with_variants(site, key="p0")
    ScreenVariantFactory(screen=ScreenFactory(site=site, key="s0"), key="default")
    few = [queries(url("changelist"))[0], queries(reverse("admin:content_screen_changelist"))[0]]
    segment = SegmentFactory(site=site, key="vip")
    for i in range(1, 6):
        slot_publish(
            slot=placement_with_variants(site, key=f"p{i}", targeted=[("vip", segment, 10)])
        )
        ScreenVariantFactory(screen=ScreenFactory(site=site, key=f"s{i}"), key="default")
    many, page = queries(url("changelist"))
    assert many == few[0]
    assert '<td class="field-variant_count">2</td>' in page
    assert '<td class="field-live">r1</td>' in page
    many, page = queries(reverse("admin:content_screen_changelist"))
    assert many == few[1]
    assert '<td class="field-variant_count">1</td>' in page


def test_design_schema_that_breaks_a_design_is_a_form_error_and_saves_nothing(site):
    import json

    from content.models import DesignSchema

    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    row, _ = DesignSchema.objects.get_or_create(site=site, defaults={"schema": {"type": "object"}})
    before = row.schema
    client = login(site, "site_admin")
    strict = {"type": "object", "required": ["nonexistent_key"]}
    response = client.post(
        reverse("admin:content_designschema_change", args=[row.pk]),
        {"site": str(site.pk), "schema": json.dumps(strict)},
        follow=True,
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["schema"]
    assert not any("successfully" in str(m) for m in response.context["messages"])
    row.refresh_from_db()
    assert row.schema == before
    # A schema every design fits is saved.
    response = client.post(
        reverse("admin:content_designschema_change", args=[row.pk]),
        {"site": str(site.pk), "schema": json.dumps({"type": "object", "title": "Loose"})},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.schema == {"type": "object", "title": "Loose"}


def test_rollback_asks_for_confirmation_first(site):
    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    slot_publish(slot=placement)
    client = login(site, "publisher")
    asked = client.post(url("rollback", placement.pk, 1))
    assert (
        asked.status_code == 200 and "Roll home_hero back to revision 1?" in asked.content.decode()
    )
    placement.refresh_from_db()
    assert placement.live_revision.number == 2
    done = client.post(url("rollback", placement.pk, 1), {"confirm": "Yes, continue"})
    assert done.status_code == 302
    placement.refresh_from_db()
    assert placement.live_revision.number == 3


def test_publishing_over_a_pending_schedule_asks_first(site):
    from datetime import timedelta

    from django.utils import timezone

    from content.services.publishing import slot_schedule

    placement = placement_with_variants(site)
    slot_schedule(slot=placement, action="publish", run_at=timezone.now() + timedelta(days=2))
    client = login(site, "publisher")
    asked = client.post(url("publish", placement.pk), {"note": "hotfix"})
    page = asked.content.decode()
    assert asked.status_code == 200 and "1 pending schedule(s)" in page
    assert 'name="note" value="hotfix"' in page
    placement.refresh_from_db()
    assert placement.live_revision_id is None
    done = client.post(url("publish", placement.pk), {"confirm": "Yes, continue", "note": "hotfix"})
    assert done.status_code == 302
    placement.refresh_from_db()
    assert placement.live_revision.number == 1 and placement.live_revision.note == "hotfix"


def test_preview_renders_placements_in_a_sandboxed_frame(site):
    _demo_slots(site)
    client = login(site, "viewer")
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": '{"context": {"weather": "rain"}}'},
    )
    page = res.content.decode()
    assert '<iframe class="pz-rendered" sandbox=""' in page
    assert 'srcdoc="&lt;p&gt;umbrella&lt;/p&gt;"' in page


def test_preview_draws_designs_as_a_mock_with_the_json_as_a_detail(site):
    import json
    import re

    _demo_slots(site)
    client = login(site, "viewer")
    res = client.post(
        reverse("admin:content_preview_visitor"),
        {"site": site.pk, "source": "published", "document": '{"context": {"weather": "rain"}}'},
    )
    page = res.content.decode()
    # the screen: a mock container the shared renderer draws into, no visible <pre> of JSON
    assert 'data-screen-mock="home"' in page
    assert "personalize/design-mock.js" in page and "content/admin/preview.js" in page
    rows = re.findall(r'<tr class="preview-row".*?</tr>', page, flags=re.S)
    assert len(rows) == 2
    for row in rows:
        outside_details = re.sub(r"<details.*?</details>", "", row, flags=re.S)
        assert "<pre" not in outside_details  # source only inside the collapsed detail
        assert '<details class="pz-source"><summary>Source</summary><pre>' in row
    data = json.loads(re.search(r'id="pz-preview-data"[^>]*>(.*?)</script>', page, re.S)[1])
    assert data["placements"]["home_hero"]["content"] == {"kind": "html", "body": "<p>umbrella</p>"}
    assert isinstance(data["screens"]["home"], dict) and "root" in data["screens"]["home"]
    assert "<script>" not in page.split('id="pz-preview-data"')[0].rsplit("<table", 1)[-1]
