import pytest

from segments.models import Field, Segment, SegmentKind, SegmentRevision
from segments.services.fields import field_catalog_seed
from segments.services.segments import segment_create
from tests.segments.factories import EventFactory, ProfileFactory

pytestmark = pytest.mark.django_db

DETROIT = {"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def form_data(site, **extra):
    data = {
        "site": site.pk,
        "key": "detroit",
        "name": "Detroit",
        "description": "",
        "kind": "dynamic",
        "status": "draft",
        "criteria": '{"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]}',
        "upload_mode": "replace",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def test_add_segment_through_services(site, marketer, admin_client_for):
    client = admin_client_for(marketer)
    assert client.get("/admin/segments/segment/add/").status_code == 200
    response = client.post("/admin/segments/segment/add/", form_data(site))
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get(key="detroit")
    assert segment.criteria == DETROIT and segment.created_by == marketer
    assert SegmentRevision.objects.filter(segment=segment, summary="Created").exists()


def test_invalid_criteria_shows_path_errors(site, marketer, admin_client_for):
    client = admin_client_for(marketer)
    bad = '{"all": [{"field": "profile.age", "op": "gte", "value": "old"}]}'
    response = client.post("/admin/segments/segment/add/", form_data(site, criteria=bad))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["criteria"]
    assert any(e.startswith("criteria.all[0]") for e in errors)
    assert not Segment.objects.exists()
    response = client.post("/admin/segments/segment/add/", form_data(site, criteria="{not json"))
    assert response.status_code == 200 and "criteria" in response.context["adminform"].form.errors


def test_change_page_records_history_and_shows_count(site, marketer, admin_client_for):
    ProfileFactory(site=site, user_id="u-1", traits={"city": "Detroit"})
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    client = admin_client_for(marketer)
    page = client.get(f"/admin/segments/segment/{segment.pk}/change/")
    assert page.status_code == 200
    assert b"Members now" in page.content and b"History" in page.content
    response = client.post(
        f"/admin/segments/segment/{segment.pk}/change/",
        form_data(
            site,
            name="Detroiters",
            status="active",
            **{"revisions-INITIAL_FORMS": "1", "revisions-TOTAL_FORMS": "1"},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    segment.refresh_from_db()
    assert segment.name == "Detroiters" and segment.status == "active"
    latest = segment.revisions.first()
    assert latest.changed_by == marketer and "Detroiters" in latest.summary


def test_static_upload_in_admin(
    site, marketer, admin_client_for, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ProfileFactory(site=site, user_id="u-1")
    client = admin_client_for(marketer)
    data = form_data(site, key="vip", name="VIP", kind="static", criteria="")
    data["members_csv"] = SimpleUploadedFile("vip.csv", b"user_id\nu-1\nu-2\n")
    with django_capture_on_commit_callbacks(execute=True):  # the job starts on commit
        response = client.post("/admin/segments/segment/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get(key="vip")
    job = segment.jobs.get()
    # to the job's progress page, whose status JSON says what happened
    assert response["Location"] == f"/admin/segments/segment/{segment.pk}/jobs/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b'data-status-url="' in page.content
    assert b"segments/jobs/job_progress.js" in page.content and b"<script>" not in page.content
    status = client.get(f"{response['Location']}status/").json()
    assert (status["status"], status["percent"], status["matched"], status["unmatched"]) == (
        "done",
        100,
        1,
        1,
    )
    assert status["unmatched_sample"] == ["u-2"] and status["result"]["total"] == 2
    assert segment.kind == SegmentKind.STATIC and segment.static_members.count() == 2
    data = form_data(site, key="vip2", name="VIP2", kind="static", criteria="")
    data["members_csv"] = SimpleUploadedFile("vip.csv", b"user_id,name\n,bob\n")
    response = client.post("/admin/segments/segment/add/", data)
    assert response.status_code == 200
    assert "Row 2" in str(response.context["adminform"].form.errors["members_csv"])


def test_actions(site, marketer, admin_client_for, django_capture_on_commit_callbacks):
    ProfileFactory(site=site, user_id="u-1", traits={"city": "Detroit"})
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    client = admin_client_for(marketer)
    url = "/admin/segments/segment/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "export_csv", "_selected_action": [segment.pk]})
    job = segment.jobs.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/segments/segment/{segment.pk}/jobs/{job.pk}/"
    status = client.get(f"{response['Location']}status/").json()
    assert status["status"] == "done" and status["download_url"].endswith("/download/")
    download = client.get(status["download_url"])
    assert b"u-1" in b"".join(download.streaming_content)
    client.post(url, {"action": "snapshot_segments", "_selected_action": [segment.pk]})
    assert Segment.objects.filter(snapshot_of=segment).count() == 1
    client.post(url, {"action": "archive_segments", "_selected_action": [segment.pk]})
    segment.refresh_from_db()
    assert segment.status == "archived"


def test_viewer_reads_but_cannot_change(site, viewer, admin_client_for):
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    client = admin_client_for(viewer)
    assert client.get("/admin/segments/segment/").status_code == 200
    assert client.get(f"/admin/segments/segment/{segment.pk}/change/").status_code == 200
    assert client.get("/admin/segments/segment/add/").status_code == 403
    response = client.post(
        f"/admin/segments/segment/{segment.pk}/change/", form_data(site, name="x")
    )
    assert response.status_code == 403
    segment.refresh_from_db()
    assert segment.name == "Detroit"


def test_editor_cannot_add_segments(site, editor, admin_client_for):
    client = admin_client_for(editor)
    assert client.get("/admin/segments/segment/add/").status_code == 403


def test_field_admin(site, marketer, admin_client_for):
    field_catalog_seed(site=site)
    client = admin_client_for(marketer)
    response = client.post(
        "/admin/segments/field/add/",
        {
            "site": site.pk,
            "path": "profile.balance",
            "type": "number",
            "label": "Balance",
            "help_text": "",
            "allowed_values": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Field.objects.get(path="profile.balance").builtin is False
    response = client.post(
        "/admin/segments/field/add/",
        {
            "site": site.pk,
            "path": "balance",
            "type": "number",
            "label": "",
            "help_text": "",
            "allowed_values": "",
        },
    )
    assert response.status_code == 200 and "path" in response.context["adminform"].form.errors
    age = Field.objects.get(site=site, path="profile.age")
    assert client.get(f"/admin/segments/field/{age.pk}/delete/").status_code == 403
    assert client.get(f"/admin/segments/field/{age.pk}/change/").status_code == 200


def test_profile_and_event_admin_read_only(site, marketer, admin_client_for):
    profile = ProfileFactory(site=site, user_id="u-77", traits={"city": "Detroit"})
    EventFactory(profile=profile, name="purchase")
    client = admin_client_for(marketer)
    listing = client.get("/admin/segments/profile/", {"q": "u-77"})
    assert listing.status_code == 200 and b"u-77" in listing.content
    assert client.get("/admin/segments/profile/add/").status_code == 403
    assert client.get(f"/admin/segments/profile/{profile.pk}/change/").status_code == 200
    assert client.get("/admin/segments/event/").status_code == 200
    assert client.get("/admin/segments/event/add/").status_code == 403


def test_change_form_tells_the_builder_its_site(site, marketer, admin_client_for):
    segment = segment_create(site=site, key="detroit", name="Detroit", criteria=DETROIT)
    page = admin_client_for(marketer).get(f"/admin/segments/segment/{segment.pk}/change/")
    widget = page.context["adminform"].form.fields["criteria"].widget
    assert widget.site_id == site.pk and widget.segment_key == "detroit"


def test_static_change_page_and_upload(
    site, marketer, admin_client_for, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    segment = segment_create(site=site, key="vip", name="VIP", kind=SegmentKind.STATIC)
    client = admin_client_for(marketer)
    url = f"/admin/segments/segment/{segment.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b"Upload members" in page.content
    data = form_data(site, key="vip", name="VIP", kind="static", upload_mode="append")
    data.pop("criteria")
    data["members_csv"] = SimpleUploadedFile("vip.csv", b"u-1\nu-2\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert "/jobs/" in response["Location"]
    assert segment.static_members.count() == 2
    assert segment.criteria == {}
