import pytest

from segments.models import Field
from segments.services.fields import field_catalog_seed
from tests.segments.factories import FieldFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/fields/"


def test_list_and_filter(site, viewer_client):
    field_catalog_seed(site=site)
    FieldFactory(site=site, path="profile.balance", type="number")
    body = viewer_client.get(URL, {"limit": 500}).json()
    assert body["count"] == Field.objects.filter(site=site).count()
    numbers = viewer_client.get(URL, {"type": "number", "limit": 500}).json()["results"]
    assert {f["path"] for f in numbers} >= {"profile.age", "profile.balance"}
    assert all(f["type"] == "number" for f in numbers)
    context = viewer_client.get(URL, {"path_prefix": "context.", "limit": 500}).json()["results"]
    assert context and all(f["path"].startswith("context.") for f in context)
    custom = viewer_client.get(URL, {"builtin": "false", "site": site.pk}).json()["results"]
    assert [f["path"] for f in custom] == ["profile.balance"]


def test_marketer_creates_updates_deletes(site, marketer_client):
    response = marketer_client.post(
        URL,
        {
            "site": site.pk,
            "path": "profile.plan",
            "type": "enum",
            "allowed_values": ["free", "pro"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    field_id = response.json()["id"]
    assert response.json()["builtin"] is False and response.json()["label"] == "Plan"
    response = marketer_client.patch(
        f"{URL}{field_id}/",
        {"allowed_values": ["free", "pro", "team"], "path": "profile.x"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["allowed_values"] == ["free", "pro", "team"]
    assert response.json()["path"] == "profile.plan"  # read-only after create
    assert marketer_client.delete(f"{URL}{field_id}/").status_code == 204


def test_validation_errors_have_paths(site, marketer_client):
    response = marketer_client.post(
        URL, {"site": site.pk, "path": "balance", "type": "number"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"][0]["path"] == "path"
    response = marketer_client.post(
        URL, {"site": site.pk, "path": "profile.t", "type": "colour"}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["fields"][0]["path"] == "type"


def test_builtin_cannot_be_deleted_or_retyped(site, marketer_client):
    field_catalog_seed(site=site)
    age = Field.objects.get(site=site, path="profile.age")
    assert marketer_client.delete(f"{URL}{age.pk}/").status_code == 400
    response = marketer_client.patch(f"{URL}{age.pk}/", {"type": "string"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"] == "type"
    assert (
        marketer_client.patch(f"{URL}{age.pk}/", {"label": "Years"}, format="json").status_code
        == 200
    )


@pytest.mark.parametrize("client_name", ["viewer_client", "editor_client"])
def test_viewer_and_editor_cannot_write(site, request, client_name):
    client = request.getfixturevalue(client_name)
    field = FieldFactory(site=site, path="profile.balance")
    assert client.get(f"{URL}{field.pk}/").status_code == 200
    response = client.post(
        URL, {"site": site.pk, "path": "profile.x", "type": "string"}, format="json"
    )
    assert response.status_code == 403
    assert client.patch(f"{URL}{field.pk}/", {"label": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}{field.pk}/").status_code == 403


def test_anonymous_is_rejected(site, api_client):
    assert api_client.get(URL).status_code in (401, 403)
