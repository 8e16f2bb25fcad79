"""Key rotation without downtime: both keys work within the window, the old one stops after."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from delivery.authentication import forget_keys
from tenancy.models import ApiKey
from tenancy.services import api_key_create, api_key_rotate
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
WHOAMI = "/api/v1/whoami"
DECIDE = "/api/v1/decide"


def whoami(client, raw):
    return client.get(WHOAMI, HTTP_AUTHORIZATION=f"Api-Key {raw}")


def decide(client, raw):
    return client.post(
        DECIDE, {"visitor": {"id": "v"}}, format="json", HTTP_AUTHORIZATION=f"Api-Key {raw}"
    )


def at(moment):
    """Drive the clock that key expiry is checked against."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_both_keys_work_within_the_window_and_the_old_stops_after(api_client, site):
    old, old_raw = api_key_create(site=site, kind="delivery", name="Web")
    start = timezone.now()
    with at(start):
        successor, new_raw = api_key_rotate(key=old, window=timedelta(hours=24))
    assert successor.kind == "delivery" and successor.site == site and new_raw != old_raw
    old.refresh_from_db()
    assert old.rotated_to == successor and old.expires_at == start + timedelta(hours=24)
    for moment in (start + timedelta(minutes=1), start + timedelta(hours=23, minutes=59)):
        forget_keys()
        with at(moment):
            assert whoami(api_client, old_raw).status_code == 200
            assert whoami(api_client, new_raw).status_code == 200
            assert decide(api_client, old_raw).status_code == 200
            assert decide(api_client, new_raw).status_code == 200
    forget_keys()
    with at(start + timedelta(hours=24, seconds=1)):
        for call in (whoami, decide):
            refused = call(api_client, old_raw)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "api_key_revoked"
            assert call(api_client, new_raw).status_code == 200


def test_expiry_is_checked_even_on_a_memoised_key(api_client, site):
    old, old_raw = api_key_create(site=site, kind="delivery", name="Web")
    start = timezone.now()
    api_key_rotate(key=old, window=timedelta(seconds=30))
    with at(start + timedelta(seconds=1)):
        assert decide(api_client, old_raw).status_code == 200  # memoised now
    with at(start + timedelta(seconds=31)):
        assert decide(api_client, old_raw).status_code == 401


def test_default_window_comes_from_settings(site, settings):
    settings.PERSONALIZE_KEY_ROTATION_WINDOW_HOURS = 2
    old, _ = api_key_create(site=site, kind="server", name="Backend")
    before = timezone.now()
    api_key_rotate(key=old)
    old.refresh_from_db()
    assert timedelta(hours=2) <= old.expires_at - before < timedelta(hours=2, seconds=5)


def test_rotating_a_revoked_or_retired_key_is_refused(api_client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    key, _ = api_key_create(site=site, kind="delivery", name="Web")
    api_key_rotate(key=key, window=timedelta(0))
    r = api_client.post(f"/api/v1/api-keys/{key.pk}/rotate/", {}, format="json")
    assert r.status_code == 400 and "active" in r.json()["error"]["message"]


def test_api_rotation_shows_the_successor_once(api_client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    key, raw = api_key_create(site=site, kind="delivery", name="Web")
    r = api_client.post(f"/api/v1/api-keys/{key.pk}/rotate/", {"window_hours": 1}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["key"].startswith("pk_") and body["name"] == "Web" and body["is_active"]
    old = api_client.get(f"/api/v1/api-keys/{key.pk}/").json()
    assert old["rotated_to"] == body["id"] and old["expires_at"] and old["is_active"]
    assert "key" not in api_client.get(f"/api/v1/api-keys/{body['id']}/").json()
    api_client.force_authenticate(None)
    assert whoami(api_client, body["key"]).status_code == 200
    assert whoami(api_client, raw).status_code == 200


def test_api_rotation_validates_the_window(api_client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    key, _ = api_key_create(site=site, kind="delivery", name="Web")
    r = api_client.post(f"/api/v1/api-keys/{key.pk}/rotate/", {"window_hours": -1}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["path"] == "window_hours"


def test_viewers_and_other_sites_cannot_rotate(api_client, site, other_site):
    theirs, _ = api_key_create(site=other_site, kind="delivery", name="Theirs")
    mine, _ = api_key_create(site=site, kind="delivery", name="Mine")
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    assert api_client.post(f"/api/v1/api-keys/{theirs.pk}/rotate/").status_code == 404
    viewer = user_with_role(site, "viewer", username="viewer")
    api_client.force_authenticate(viewer)
    assert api_client.post(f"/api/v1/api-keys/{mine.pk}/rotate/").status_code == 404
    assert ApiKey.objects.count() == 2


def test_active_filter_excludes_retired_keys(api_client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    key, _ = api_key_create(site=site, kind="delivery", name="Web")
    successor, _ = api_key_rotate(key=key, window=timedelta(0))
    active = api_client.get("/api/v1/api-keys/?active=true").json()["results"]
    retired = api_client.get("/api/v1/api-keys/?active=false").json()["results"]
    assert [k["id"] for k in active] == [successor.pk]
    assert [k["id"] for k in retired] == [key.pk]


def test_admin_action_rotates_and_shows_the_key_once(client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    client.force_login(admin)
    key, _ = api_key_create(site=site, kind="server", name="Backend")
    r = client.post(
        "/admin/tenancy/apikey/",
        {"action": "rotate_keys", "_selected_action": [key.pk]},
        follow=True,
    )
    html = r.content.decode()
    assert "sk_" in html and "will not be shown again" in html
    key.refresh_from_db()
    assert key.rotated_to is not None and key.expires_at is not None
