import pytest
from django.urls import reverse
from django.utils import timezone

from tenancy.models import ApiKey
from tenancy.selectors import api_key_digest
from tenancy.services import api_key_create, api_key_revoke
from tests.factories import make_key

pytestmark = pytest.mark.django_db
WHOAMI = "/api/v1/whoami"


def call(client, header=None):
    kwargs = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return client.get(WHOAMI, **kwargs)


def test_key_is_stored_hashed_and_shown_once(site):
    key, raw = api_key_create(site=site, kind="delivery", name="Web")
    stored = ApiKey.objects.get(pk=key.pk)
    assert raw.startswith("pk_")
    assert stored.digest == api_key_digest(raw)
    assert raw not in {getattr(stored, f.attname) for f in ApiKey._meta.concrete_fields}
    assert stored.prefix == raw[:10]


def test_valid_delivery_key_resolves_to_its_site(api_client, site, delivery_key):
    response = call(api_client, f"Api-Key {delivery_key}")
    assert response.status_code == 200
    assert response.json() == {"site": "alpha", "kind": "delivery"}


def test_valid_server_key_resolves(api_client, site, server_key):
    response = call(api_client, f"Api-Key {server_key}")
    assert response.json() == {"site": "alpha", "kind": "server"}


def test_missing_key_is_401_and_says_so(api_client, site):
    response = call(api_client)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_missing"
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Api-Key",
        "Api-Key ",
        "Api-Key not a key",
        "Api-Key pk_short",
        "api-key pk_" + "a" * 30,
    ],
)
def test_malformed_key_is_401_malformed(api_client, site, header):
    response = call(api_client, header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_malformed"


def test_unknown_key_is_401_invalid(api_client, site):
    response = call(api_client, "Api-Key pk_" + "x" * 43)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


def test_revoked_key_is_401_revoked_even_when_cached(api_client, site):
    key, raw = api_key_create(site=site, kind="delivery", name="Old")
    assert call(api_client, f"Api-Key {raw}").status_code == 200  # now cached
    api_key_revoke(key=key)
    response = call(api_client, f"Api-Key {raw}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


def test_wrong_kind_is_403(api_client, site, delivery_key):
    from rest_framework.test import APIRequestFactory

    from tenancy.api.authentication import ApiKeyAuthentication, ServerKeyRequired

    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Api-Key {delivery_key}")
    from rest_framework.decorators import api_view, authentication_classes, permission_classes
    from rest_framework.response import Response

    @api_view(["GET"])
    @authentication_classes([ApiKeyAuthentication])
    @permission_classes([ServerKeyRequired])
    def server_only(request):
        return Response({"ok": True})

    response = server_only(request)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "api_key_wrong_kind"
    assert "server key" in response.data["error"]["message"]


def test_last_used_is_recorded_off_the_request_path(api_client, site):
    key, raw = api_key_create(site=site, kind="delivery", name="Web")
    assert key.last_used_at is None
    before = timezone.now()
    call(api_client, f"Api-Key {raw}")
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_at >= before


def test_key_of_one_site_reports_that_site_only(api_client, site, other_site):
    raw = make_key(other_site)
    assert call(api_client, f"Api-Key {raw}").json()["site"] == "beta"


def test_api_key_admin_api_shows_key_once_and_revokes(client, site):
    from tests.factories import user_with_role

    admin_user = user_with_role(site, "site_admin")
    client.force_login(admin_user)
    created = client.post("/api/v1/api-keys/", {"site": site.pk, "kind": "server", "name": "CI"})
    assert created.status_code == 201, created.content
    raw = created.json()["key"]
    assert raw.startswith("sk_")
    detail = client.get(f"/api/v1/api-keys/{created.json()['id']}/").json()
    assert "key" not in detail and detail["is_active"] is True
    revoked = client.post(f"/api/v1/api-keys/{created.json()['id']}/revoke/")
    assert revoked.json()["is_active"] is False
    assert call(client, f"Api-Key {raw}").json()["error"]["code"] == "api_key_revoked"


def test_whoami_url_name():
    assert reverse("whoami") == WHOAMI
