"""Every authentication and authorization failure of the delivery endpoints."""

from __future__ import annotations

import pytest

from tenancy.models import ApiKey
from tenancy.services import api_key_revoke
from tests.delivery.conftest import post, put
from tests.factories import UserFactory, make_key

ENDPOINTS = [
    ("POST", "/api/v1/decide", {"visitor": {"id": "a"}}),
    ("POST", "/api/v1/events", {"visitor": {"id": "a"}, "events": [{"name": "x"}]}),
    ("GET", "/api/v1/profiles/u-1", None),
    ("PUT", "/api/v1/profiles/u-1", {"traits": {}}),
    ("DELETE", "/api/v1/profiles/u-1", None),
]


def call(client, method, path, body, auth=None):
    extra = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    if method == "POST":
        return client.generic(
            "POST", path, __import__("json").dumps(body), content_type="application/json", **extra
        )
    if method == "PUT":
        return client.generic(
            "PUT", path, __import__("json").dumps(body), content_type="application/json", **extra
        )
    return client.generic(method, path, **extra)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_missing_key(api_client, site, method, path, body):
    r = call(api_client, method, path, body)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "api_key_missing"
    assert r["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer abc", "api_key_malformed"),
        ("Api-Key", "api_key_malformed"),
        ("Api-Key not-a-key", "api_key_malformed"),
        ("Api-Key pk_" + "x" * 43, "api_key_invalid"),
        ("Api-Key sk_" + "y" * 43, "api_key_invalid"),
    ],
)
def test_bad_keys(api_client, site, method, path, body, header, code):
    r = call(api_client, method, path, body, header)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == code


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_revoked_key(api_client, site, method, path, body):
    raw = make_key(site, "server")
    api_key_revoke(key=ApiKey.objects.get(site=site, kind="server"))
    r = call(api_client, method, path, body, f"Api-Key {raw}")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "api_key_revoked"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS[2:])
def test_profiles_need_the_server_key(api_client, delivery_key, method, path, body):
    r = call(api_client, method, path, body, f"Api-Key {delivery_key}")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "api_key_wrong_kind"


def test_signed_in_staff_without_key_is_refused(api_client, site):
    user = UserFactory(is_superuser=True)
    api_client.force_login(user)
    r = post(api_client, "/api/v1/decide", {"visitor": {"id": "a"}})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "api_key_missing"


def test_other_sites_server_key_cannot_read_or_erase_this_sites_people(
    api_client, site, other_site, server_key
):
    assert (
        put(api_client, "/api/v1/profiles/u-1", {"traits": {"age": 30}}, server_key).status_code
        == 201
    )
    other = make_key(other_site, "server")
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {other}"}
    assert api_client.get("/api/v1/profiles/u-1", **headers).status_code == 404
    assert api_client.delete("/api/v1/profiles/u-1", **headers).status_code == 404
    mine = api_client.get("/api/v1/profiles/u-1", HTTP_AUTHORIZATION=f"Api-Key {server_key}")
    assert mine.status_code == 200 and mine.json()["traits"] == {"age": 30}
    # the other site's PUT creates its own person, separate from this site's
    assert (
        put(api_client, "/api/v1/profiles/u-1", {"traits": {"age": 99}}, other).status_code == 201
    )
    mine = api_client.get("/api/v1/profiles/u-1", HTTP_AUTHORIZATION=f"Api-Key {server_key}")
    assert mine.json()["traits"] == {"age": 30}


def test_wrong_method(api_client, delivery_key):
    r = api_client.get("/api/v1/decide", HTTP_AUTHORIZATION=f"Api-Key {delivery_key}")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_revocation_reaches_the_hot_path(api_client, site, config, monkeypatch):
    from delivery import authentication

    monkeypatch.setattr(authentication, "KEY_MEMO_SECONDS", 0.0)
    raw = make_key(site, "delivery")
    assert post(api_client, "/api/v1/decide", {"visitor": {"id": "a"}}, raw).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(site=site, kind="delivery"))
    r = post(api_client, "/api/v1/decide", {"visitor": {"id": "a"}}, raw)
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_revoked"
