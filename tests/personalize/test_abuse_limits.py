"""Admin login lockout (django-axes), the management API throttle, and the CSP."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.test import RequestFactory, override_settings

from personalize.client_ip import client_ip
from tenancy.api.throttling import ManagementRateThrottle
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"


def login(client, password, ip="203.0.113.7", username="ops"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


def test_admin_login_locks_after_the_configured_failures(client, settings):
    UserFactory(username="ops", password="right-password", is_superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "wrong").status_code == 200  # the form again, with an error
    locked = login(client, "wrong")
    assert locked.status_code == 429
    # Now even the right password is refused for this username from this address...
    assert login(client, "right-password").status_code == 429
    # ...while the same username from another address may still log in.
    assert login(client, "right-password", ip="198.51.100.9").status_code == 302


def test_a_success_resets_the_failure_count(client, settings):
    UserFactory(username="ops", password="right-password", is_superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "wrong")
    assert login(client, "right-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "wrong").status_code == 200
    assert login(client, "right-password").status_code == 302


@override_settings(PERSONALIZE_TRUSTED_PROXY_COUNT=1)
def test_client_ip_behind_one_proxy_is_not_forgeable():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert client_ip(request) == "203.0.113.7"  # what nginx saw, not what the client claimed
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_client_ip_without_proxies_is_the_peer():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.2"


# --- management API throttle ----------------------------------------------------------------


# Its own cache: a parallel test process flushing a shared Redis would reset the counter.
@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_management_api_is_throttled_per_user_in_the_envelope(client, site):
    alice = user_with_role(site, "site_admin", username="alice")
    bob = user_with_role(site, "site_admin", username="bob")
    with mock.patch.object(ManagementRateThrottle, "rate", "3/min", create=True):
        client.force_login(alice)
        for _ in range(3):
            assert client.get("/api/v1/segments/").status_code == 200
        refused = client.get("/api/v1/segments/")
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "throttled" and 0 < error["retry_after_seconds"] <= 60
        assert "Retry-After" in refused
        client.force_login(bob)  # another user has their own budget
        assert client.get("/api/v1/segments/").status_code == 200


def test_delivery_is_not_counted_against_the_management_rate(client, site, delivery_key):
    with mock.patch.object(ManagementRateThrottle, "rate", "1/min", create=True):
        for _ in range(3):
            r = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Api-Key {delivery_key}")
            assert r.status_code == 200


# --- Content-Security-Policy ----------------------------------------------------------------


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/healthz/", "/api/v1/whoami"])
def test_every_page_has_a_strict_policy(client, path):
    policy = _csp(client.get(path))
    assert policy["default-src"] == "default-src 'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_swagger_ui_loads_its_script_from_a_url(client):
    html = client.get("/api/docs/").content.decode()
    assert re.findall(r"<script>", html) == []  # no inline script to block
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', html).group(1)
    assert client.get(script.replace("&amp;", "&")).status_code == 200


@override_settings(PERSONALIZE_DEMO=True)
def test_demo_inline_script_carries_the_nonce_of_its_policy(client, site, delivery_key):
    from content.services.drafts import content_variant_create, placement_create
    from content.services.publishing import slot_publish

    hero = placement_create(site=site, key="home_hero", name="Hero")
    content_variant_create(placement=hero, key="d", name="D", body="<p>x</p>")
    slot_publish(slot=hero)
    r = client.get(f"/demo/?site={site.slug}")
    assert r.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", _csp(r)["script-src"]).group(1)
    assert f'<script nonce="{nonce}">' in r.content.decode()
