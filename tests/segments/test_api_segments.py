import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from segments.models import Segment, SegmentKind, StaticMember
from segments.services.segments import segment_create
from tests.segments.factories import EventFactory, ProfileFactory, SegmentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/segments/"
DETROIT = {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}


def create(client, site, **extra):
    body = {"site": site.pk, "key": "detroit", "name": "Detroit", "criteria": DETROIT, **extra}
    return client.post(URL, body, format="json")


def test_crud_and_history(site, marketer_client, marketer):
    response = create(marketer_client, site, status="active")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["created_by"] == "marketer"
        and body["kind"] == "dynamic"
        and body["status"] == "active"
    )
    detail = f"{URL}{body['id']}/"
    women = {"all": [{"field": "profile.gender", "op": "eq", "value": "female"}]}
    response = marketer_client.patch(
        detail, {"criteria": women, "name": "Women", "key": "nope"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["key"] == "detroit" and response.json()["criteria"] == women
    history = marketer_client.get(f"{detail}history/").json()
    assert history["count"] == 2
    assert history["results"][0]["changed_by"] == "marketer"
    assert "criteria" in history["results"][0]["summary"].lower()
    assert marketer_client.get(URL, {"status": "active"}).json()["count"] == 1
    assert marketer_client.get(URL, {"search": "wom"}).json()["count"] == 1
    assert marketer_client.post(f"{detail}archive/").json()["status"] == "archived"
    assert marketer_client.delete(detail).status_code == 204
    assert not Segment.objects.exists()


def test_criteria_errors_point_into_criteria(site, marketer_client):
    bad = {"all": [DETROIT["all"][0], {"field": "profile.age", "op": "gte", "value": "old"}]}
    response = create(marketer_client, site, criteria=bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"][0]["path"].startswith("criteria.all[1]")
    assert error["fields"][0]["message"]
    response = create(
        marketer_client, site, criteria={"all": [{"field": "profile.nope", "op": "eq", "value": 1}]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"].startswith("criteria.all[0]")


def test_duplicate_key_is_400(site, marketer_client):
    assert create(marketer_client, site).status_code == 201
    response = create(marketer_client, site)
    assert response.status_code == 400 and response.json()["error"]["fields"][0]["path"] == "key"


def test_count_members_export(site, viewer_client):
    for i, city in enumerate(["Detroit", "Detroit", "Boston"]):
        ProfileFactory(site=site, user_id=f"u-{i}", traits={"city": city, "age": 20 + i})
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    detail = f"{URL}{segment.pk}/"
    assert viewer_client.get(f"{detail}count/").json() == {"count": 2}
    page = viewer_client.get(f"{detail}members/", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and [m["user_id"] for m in page["results"]] == ["u-1"]
    assert page["results"][0]["traits"]["age"] == 21
    response = viewer_client.get(f"{detail}export/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["user_id"] for r in rows] == ["u-0", "u-1"]


def test_count_with_behaviour(site, viewer_client):
    buyer = ProfileFactory(site=site, user_id="buyer")
    ProfileFactory(site=site, user_id="browser")
    EventFactory(profile=buyer, name="purchase", properties={"category": "shoes", "price": 20})
    tree = {"all": [{"event": "purchase", "count": {"op": "gte", "value": 1}, "within_days": 30}]}
    segment = segment_create(site=site, key="buyers", name="Buyers", criteria=tree)
    assert viewer_client.get(f"{URL}{segment.pk}/count/").json() == {"count": 1}


def test_upload_and_snapshot(site, marketer_client, django_capture_on_commit_callbacks):
    response = create(marketer_client, site, key="vip", name="VIP", kind="static", criteria=None)
    assert response.status_code == 201, response.content
    detail = f"{URL}{response.json()['id']}/"
    upload = SimpleUploadedFile("vip.csv", b"user_id\nu-1\nu-2\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):  # the job starts on commit
        response = marketer_client.post(f"{detail}upload/", {"file": upload}, format="multipart")
    # A job: 202 with where to poll (without a broker it runs when the request commits).
    assert response.status_code == 202, response.content
    assert response["Location"] == response.json()["url"]
    job = marketer_client.get(response.json()["url"]).json()
    assert job["status"] == "done"
    assert job["result"]["added"] == 2 and job["result"]["total"] == 2
    bad = SimpleUploadedFile("vip.csv", b"user_id,n\nu-1,a\n,b\nu-3,c\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(f"{detail}upload/", {"file": bad}, format="multipart")
    assert response.status_code == 202
    job = marketer_client.get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert job["error_rows"] == [{"row": 3, "message": "The user id is empty."}]
    assert StaticMember.objects.count() == 2

    ProfileFactory(site=site, user_id="d-1", traits={"city": "Detroit"})
    dynamic = create(marketer_client, site).json()
    response = marketer_client.post(
        f"{URL}{dynamic['id']}/snapshot/", {"key": "detroit-now"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "static" and response.json()["snapshot_of"] == dynamic["id"]
    assert marketer_client.get(f"{URL}{response.json()['id']}/count/").json() == {"count": 1}


def test_upload_to_dynamic_is_400(site, marketer_client):
    segment = SegmentFactory(site=site)
    upload = SimpleUploadedFile("a.csv", b"u-1\n")
    response = marketer_client.post(
        f"{URL}{segment.pk}/upload/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400


def test_viewer_is_read_only(site, viewer_client):
    segment = SegmentFactory(site=site)
    detail = f"{URL}{segment.pk}/"
    assert viewer_client.get(detail).status_code == 200
    assert viewer_client.get(f"{detail}count/").status_code == 200
    assert create(viewer_client, site).status_code == 403
    assert viewer_client.patch(detail, {"name": "x"}, format="json").status_code == 403
    assert viewer_client.post(f"{detail}archive/").status_code == 403
    assert viewer_client.post(f"{detail}snapshot/", {}, format="json").status_code == 403
    assert viewer_client.delete(detail).status_code == 403


def test_editor_cannot_write_segments(site, editor_client):
    segment = SegmentFactory(site=site)
    assert editor_client.get(f"{URL}{segment.pk}/").status_code == 200
    assert create(editor_client, site).status_code == 403
    assert (
        editor_client.patch(f"{URL}{segment.pk}/", {"name": "x"}, format="json").status_code == 403
    )


def test_hostile_criteria_are_400(site, marketer_client):
    deep: dict = {"all": []}
    node = deep
    for _ in range(30):
        child: dict = {"all": []}
        node["all"].append(child)
        node = child
    assert create(marketer_client, site, criteria=deep).status_code == 400
    huge = {"any": [{"field": "profile.age", "op": "eq", "value": i} for i in range(600)]}
    response = create(marketer_client, site, criteria=huge)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    very_deep = '{"all": [' * 5000 + "]}" * 5000
    body = f'{{"site": {site.pk}, "key": "x", "name": "x", "criteria": {very_deep}}}'
    response = marketer_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    too_big = '{"site": 1, "key": "x", "name": "' + "x" * 600_000 + '"}'
    response = marketer_client.post(URL, too_big, content_type="application/json")
    assert response.status_code == 413
    assert create(marketer_client, site, criteria=[1, 2]).status_code == 400
    assert create(marketer_client, site, criteria="all").status_code == 400
    assert Segment.objects.count() == 0


def test_static_kind_ignores_criteria(site, marketer_client):
    response = create(marketer_client, site, kind=SegmentKind.STATIC, criteria={"all": []})
    assert response.status_code == 201 and response.json()["criteria"] == {}
