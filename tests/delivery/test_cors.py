"""Per-site CORS: preflights by any site's origins, actual requests by the key's site."""

from __future__ import annotations

from tenancy.models import Site
from tests.delivery.conftest import post
from tests.factories import make_key

ACAO = "Access-Control-Allow-Origin"


def preflight(client, origin, path="/api/v1/decide"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def decide_from(client, origin, key, **extra):
    """An anonymous decide sent with `origin` (none when None) and `key`."""
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return post(client, "/api/v1/decide", {"visitor": {"id": "a"}}, key, **headers, **extra)


def test_preflight_allows_an_origin_some_site_lists(api_client, site, other_site):
    Site.objects.filter(pk=other_site.pk).update(allowed_origins=["https://beta.example"])
    r = preflight(api_client, "https://www.example.com")
    assert r.status_code == 200 and r[ACAO] == "https://www.example.com"
    assert "authorization" in r["Access-Control-Allow-Headers"]
    r = preflight(api_client, "https://beta.example", "/api/v1/events")
    assert r[ACAO] == "https://beta.example"
    r = preflight(api_client, "https://evil.example")
    assert ACAO not in r


def test_actual_request_from_the_sites_origin(api_client, delivery_key, config):
    r = decide_from(api_client, "https://www.example.com", delivery_key)
    assert r.status_code == 200 and r[ACAO] == "https://www.example.com"
    assert "origin" in r["Vary"].lower()


def test_origin_of_another_site_is_refused(api_client, site, other_site, delivery_key, config):
    other_site.allowed_origins = ["https://beta.example"]
    other_site.save()
    for path, body in (
        ("/api/v1/decide", {"visitor": {"id": "a"}}),
        ("/api/v1/events", {"visitor": {"id": "a"}, "events": [{"name": "x"}]}),
    ):
        r = post(api_client, path, body, delivery_key, HTTP_ORIGIN="https://beta.example")
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "origin_not_allowed"
        assert ACAO not in r


def test_unknown_origin_is_refused(api_client, delivery_key, config):
    r = decide_from(api_client, "https://evil.example", delivery_key)
    assert r.status_code == 403 and ACAO not in r


def test_same_origin_and_server_calls_are_allowed(api_client, delivery_key, config):
    assert decide_from(api_client, "http://testserver", delivery_key).status_code == 200
    assert decide_from(api_client, None, delivery_key).status_code == 200


def test_changing_allowed_origins_takes_effect(api_client, site, delivery_key, config):
    origin = "https://new.example"
    assert decide_from(api_client, origin, delivery_key).status_code == 403
    site.allowed_origins = [*site.allowed_origins, origin]
    site.save()  # the receiver drops the cached origins
    r = decide_from(api_client, origin, delivery_key)
    assert r.status_code == 200 and r[ACAO] == origin


def test_no_cors_headers_on_other_endpoints(api_client, site):
    server = make_key(site, "server")
    r = api_client.get(
        "/api/v1/profiles/x",
        HTTP_ORIGIN="https://www.example.com",
        HTTP_AUTHORIZATION=f"Api-Key {server}",
    )
    assert ACAO not in r


def test_401_is_readable_by_a_listed_origin(api_client, site):
    r = decide_from(api_client, "https://www.example.com", None)
    assert r.status_code == 401 and r[ACAO] == "https://www.example.com"


def test_malformed_key_401_is_readable_by_a_listed_origin(api_client, site):
    for header in ("Bearer pk_" + "a" * 30, "Api-Key not-a-key", "Api-Key "):
        r = decide_from(api_client, "https://www.example.com", None, HTTP_AUTHORIZATION=header)
        assert r.status_code == 401, header
        assert r.json()["error"]["code"] == "api_key_malformed", header
        assert r[ACAO] == "https://www.example.com", header
