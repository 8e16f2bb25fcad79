import json
from datetime import timedelta

import pytest
from django.utils import timezone

from content.models import AuditEntry, ContentVariant, Placement, PublishSchedule
from tests.content.factories import (
    ContentVariantFactory,
    PlacementFactory,
    ScreenFactory,
    ScreenVariantFactory,
    SegmentFactory,
    placement_with_variants,
)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

ROLES = ["viewer", "editor", "marketer", "publisher", "site_admin"]
CAN_EDIT = {"editor", "publisher", "site_admin"}
CAN_PUBLISH = {"publisher", "site_admin"}


def client_for(api_client, site, role):
    api_client.force_authenticate(user_with_role(site, role))
    return api_client


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads(api_client, site, role):
    placement_with_variants(site)
    res = client_for(api_client, site, role).get("/api/v1/placements/")
    assert res.status_code == 200
    assert [p["key"] for p in res.json()["results"]] == ["home_hero"]
    assert {v["key"] for v in res.json()["results"][0]["variants"]} == {"default"}


@pytest.mark.parametrize("role", ROLES)
def test_draft_changes_by_role(api_client, site, role):
    placement = placement_with_variants(site)
    client = client_for(api_client, site, role)
    created = client.post(
        "/api/v1/placements/",
        {"site": site.pk, "key": "offers", "name": "Offers", "kind": "text"},
        format="json",
    )
    variant = placement.variants.get(key="default")
    changed = client.patch(
        f"/api/v1/placement-variants/{variant.pk}/", {"body": "<b>New</b>"}, format="json"
    )
    if role in CAN_EDIT:
        assert created.status_code == 201, created.json()
        assert changed.status_code == 200, changed.json()
        assert ContentVariant.objects.get(pk=variant.pk).body == "<b>New</b>"
    else:
        assert created.status_code == 403
        assert changed.status_code == 403
        assert not Placement.objects.filter(key="offers").exists()


@pytest.mark.parametrize("role", ROLES)
def test_publishing_by_role(api_client, site, role):
    placement = placement_with_variants(site)
    client = client_for(api_client, site, role)
    published = client.post(
        f"/api/v1/placements/{placement.pk}/publish/", {"note": "go"}, format="json"
    )
    run_at = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = client.post(
        f"/api/v1/placements/{placement.pk}/schedule/",
        {"action": "unpublish", "run_at": run_at},
        format="json",
    )
    rolled = client.post(
        f"/api/v1/placements/{placement.pk}/rollback/", {"revision": 1}, format="json"
    )
    if role in CAN_PUBLISH:
        assert published.status_code == 200, published.json()
        assert published.json()["live_revision"] == 1
        assert scheduled.status_code == 201, scheduled.json()
        assert rolled.status_code == 200, rolled.json()
        assert rolled.json()["live_revision"] == 2
        assert AuditEntry.objects.filter(site=site).count() == 3
    else:
        assert (published.status_code, scheduled.status_code, rolled.status_code) == (403, 403, 403)
        assert not AuditEntry.objects.exists() and not PublishSchedule.objects.exists()


def test_tenant_isolation(api_client, site, other_site):
    mine = placement_with_variants(site)
    theirs = placement_with_variants(other_site, key="their_hero")
    their_segment = SegmentFactory(site=other_site, key="their-segment")
    client = client_for(api_client, site, "site_admin")
    keys = [p["key"] for p in client.get("/api/v1/placements/").json()["results"]]
    assert keys == ["home_hero"]
    assert client.get(f"/api/v1/placements/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/placements/{theirs.pk}/publish/").status_code == 404
    assert (
        client.patch(f"/api/v1/placements/{theirs.pk}/", {"name": "x"}, format="json").status_code
        == 404
    )
    variant = theirs.variants.get(key="default")
    assert client.get(f"/api/v1/placement-variants/{variant.pk}/").status_code == 404
    # Cannot create on site B, nor target site B's segment.
    res = client.post(
        "/api/v1/placements/", {"site": other_site.pk, "key": "x", "name": "X"}, format="json"
    )
    assert res.status_code == 400 and res.json()["error"]["fields"][0]["path"] == "site"
    res = client.post(
        "/api/v1/placement-variants/",
        {"placement": mine.pk, "key": "t", "name": "T", "segment": their_segment.pk, "body": "x"},
        format="json",
    )
    assert res.status_code == 400 and res.json()["error"]["fields"][0]["path"] == "segment"
    res = client.post(
        "/api/v1/placement-variants/",
        {"placement": theirs.pk, "key": "t", "name": "T", "body": "x"},
        format="json",
    )
    assert res.status_code == 400


def test_same_site_segment_check_in_service(site, other_site):
    from django.core.exceptions import ValidationError

    from content.services.drafts import content_variant_create

    placement = placement_with_variants(site)
    with pytest.raises(ValidationError) as exc:
        content_variant_create(
            placement=placement,
            key="x",
            name="x",
            body="x",
            segment=SegmentFactory(site=other_site),
        )
    assert "segment" in exc.value.message_dict


def test_html_is_sanitised(api_client, site):
    placement = placement_with_variants(site)
    client = client_for(api_client, site, "editor")
    res = client.post(
        "/api/v1/placement-variants/",
        {
            "placement": placement.pk,
            "key": "x",
            "name": "X",
            "segment": SegmentFactory(site=site).pk,
            "body": '<p onclick="steal()">Hi<script>alert(1)</script>'
            '<a href="javascript:alert(1)">x</a></p>',
        },
        format="json",
    )
    assert res.status_code == 201, res.json()
    body = res.json()["body"]
    assert "script" not in body and "onclick" not in body and "javascript" not in body
    assert body.startswith("<p>Hi")


def test_json_schema_errors_have_paths(api_client, site):
    client = client_for(api_client, site, "editor")
    schema = {
        "type": "object",
        "required": ["title", "items"],
        "properties": {
            "title": {"type": "string"},
            "items": {"type": "array", "items": {"type": "integer"}},
        },
    }
    res = client.post(
        "/api/v1/placements/",
        {"site": site.pk, "key": "cfg", "name": "Config", "kind": "json", "json_schema": schema},
        format="json",
    )
    assert res.status_code == 201, res.json()
    pk = res.json()["id"]
    res = client.post(
        "/api/v1/placement-variants/",
        {"placement": pk, "key": "default", "name": "D", "body": {"title": 3, "items": [1, "two"]}},
        format="json",
    )
    assert res.status_code == 400
    paths = {f["path"] for f in res.json()["error"]["fields"]}
    assert paths == {"body.title", "body.items[1]"}
    ok = client.post(
        "/api/v1/placement-variants/",
        {"placement": pk, "key": "default", "name": "D", "body": {"title": "Hi", "items": [1]}},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["body"] == {"title": "Hi", "items": [1]}
    bad_schema = client.patch(
        f"/api/v1/placements/{pk}/", {"json_schema": {"type": 12}}, format="json"
    )
    assert (
        bad_schema.status_code == 400
        and bad_schema.json()["error"]["fields"][0]["path"] == "json_schema"
    )


def test_image_body_needs_safe_links(api_client, site):
    placement = PlacementFactory(site=site, kind="image")
    client = client_for(api_client, site, "editor")
    res = client.post(
        "/api/v1/placement-variants/",
        {
            "placement": placement.pk,
            "key": "d",
            "name": "D",
            "body": {"src": "/a.png", "href": "javascript:x()"},
        },
        format="json",
    )
    assert res.status_code == 400 and res.json()["error"]["fields"][0]["path"] == "body.href"


def test_large_bodies_are_refused(api_client, site):
    placement = placement_with_variants(site)
    client = client_for(api_client, site, "editor")
    variant = placement.variants.get(key="default")
    res = client.patch(
        f"/api/v1/placement-variants/{variant.pk}/", {"body": "x" * (65 * 1024)}, format="json"
    )
    assert res.status_code == 400
    assert "64 KB" in res.json()["error"]["message"]


def test_design_validation_errors_have_paths(api_client, site):
    screen = ScreenFactory(site=site)
    client = client_for(api_client, site, "editor")
    design = {
        "root": {"type": "Screen", "children": [{"props": {}}]},
        "theme": {"colors": {"bg": "#fff"}},
    }
    res = client.post(
        "/api/v1/screen-variants/",
        {"screen": screen.pk, "key": "d", "name": "D", "design": design},
        format="json",
    )
    assert res.status_code == 400
    assert res.json()["error"]["fields"][0]["path"] == "design.root.children[0]"
    design["root"]["children"][0]["type"] = "Text"
    res = client.post(
        "/api/v1/screen-variants/",
        {"screen": screen.pk, "key": "d", "name": "D", "design": design},
        format="json",
    )
    assert res.status_code == 201, res.json()


def test_one_default_per_placement_via_api(api_client, site):
    placement = placement_with_variants(site)
    client = client_for(api_client, site, "editor")
    res = client.post(
        "/api/v1/placement-variants/",
        {"placement": placement.pk, "key": "d2", "name": "D2", "body": "x"},
        format="json",
    )
    assert res.status_code == 400


def test_revisions_and_diff_endpoints(api_client, site):
    placement = placement_with_variants(site)
    client = client_for(api_client, site, "publisher")
    client.post(f"/api/v1/placements/{placement.pk}/publish/")
    variant = placement.variants.get(key="default")
    client.patch(f"/api/v1/placement-variants/{variant.pk}/", {"body": "<p>Two</p>"}, format="json")
    client.post(f"/api/v1/placements/{placement.pk}/publish/")
    revisions = client.get(f"/api/v1/placements/{placement.pk}/revisions/").json()["results"]
    assert [(r["number"], r["is_live"]) for r in revisions] == [(2, True), (1, False)]
    detail = client.get(f"/api/v1/placements/{placement.pk}/revisions/1/?against=live").json()
    assert detail["against"] == "live"
    assert '-      "body": "<p>Default</p>"' in detail["diff"]
    assert '+      "body": "<p>Two</p>"' in detail["diff"]
    assert client.get(f"/api/v1/placements/{placement.pk}/revisions/9/").status_code == 404


def test_filters(api_client, site):
    live = placement_with_variants(site, key="live_one")
    placement_with_variants(site, key="draft_one")
    PlacementFactory(site=site, key="cfg", kind="json")
    client = client_for(api_client, site, "publisher")
    client.post(f"/api/v1/placements/{live.pk}/publish/")

    def keys(query):
        return sorted(
            p["key"] for p in client.get(f"/api/v1/placements/?{query}").json()["results"]
        )

    assert keys("is_live=true") == ["live_one"]
    assert keys("is_live=false") == ["cfg", "draft_one"]
    assert keys("kind=json") == ["cfg"]
    variants = client.get(
        f"/api/v1/placement-variants/?placement={live.pk}&is_default=true"
    ).json()["results"]
    assert [v["key"] for v in variants] == ["default"]
    audit = client.get("/api/v1/content-audit/?action=publish").json()["results"]
    assert [a["slot_key"] for a in audit] == ["live_one"]


def test_screens_api_and_schedule_cancel(api_client, site):
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    client = client_for(api_client, site, "publisher")
    assert client.post(f"/api/v1/screens/{screen.pk}/publish/").json()["live_revision"] == 1
    run_at = (timezone.now() + timedelta(hours=2)).isoformat()
    sched = client.post(
        f"/api/v1/screens/{screen.pk}/schedule/",
        {"action": "unpublish", "run_at": run_at},
        format="json",
    )
    assert sched.status_code == 201
    res = client.post(f"/api/v1/content-schedules/{sched.json()['id']}/cancel/")
    assert res.status_code == 200 and res.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/screens/{screen.pk}/unpublish/").json()["is_live"] is False


def test_editor_cannot_delete_live_placement(api_client, site):
    placement = placement_with_variants(site)
    from content.services.publishing import slot_publish

    slot_publish(slot=placement)
    client = client_for(api_client, site, "editor")
    assert client.delete(f"/api/v1/placements/{placement.pk}/").status_code == 403
    draft = PlacementFactory(site=site)
    ContentVariantFactory(placement=draft)
    assert client.delete(f"/api/v1/placements/{draft.pk}/").status_code == 204


def test_design_schema_endpoint(api_client, site):
    client = client_for(api_client, site, "site_admin")
    schema = {"type": "object", "required": ["root"]}
    res = client.post("/api/v1/design-schemas/", {"site": site.pk, "schema": schema}, format="json")
    assert res.status_code == 201, res.json()
    editor = user_with_role(site, "editor")
    api_client.force_authenticate(editor)
    res = api_client.patch(
        f"/api/v1/design-schemas/{res.json()['id']}/", {"schema": {}}, format="json"
    )
    assert res.status_code == 403
    assert json.dumps(schema)


def test_list_endpoints_query_count_does_not_grow_with_rows(api_client, site):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from content.services.publishing import slot_publish

    client = client_for(api_client, site, "viewer")
    segment = SegmentFactory(site=site, key="vip")
    paths = ["/api/v1/placements/", "/api/v1/screens/", "/api/v1/placement-variants/"]

    def add_slots(start):
        for i in range(start, start + 3):
            placement = placement_with_variants(
                site, key=f"p{i}", targeted=[("vip", segment, 10)], kind="json"
            )
            ContentVariant.objects.filter(placement=placement).update(body='{"a": 1}')
            slot_publish(slot=placement)
            ScreenVariantFactory(screen=ScreenFactory(site=site), key="default")

    def queries():
        counts = []
        for path in paths:
            client.get(path)  # warm-up: the first request makes one-off queries
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    add_slots(0)
    few = queries()
    add_slots(10)
    assert queries() == few
    hero = client.get("/api/v1/placements/?key=p11").json()["results"][0]
    assert hero["live_revision"] == 1 and hero["variants"][0]["segment_key"] == "vip"
    assert hero["variants"][0]["body"] == {"a": 1}
