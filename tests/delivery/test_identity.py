"""Identity verification: a public key's user_id names a stored person only with user_hash."""

from __future__ import annotations

import hashlib
import hmac
import re
from unittest import mock

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from delivery import tasks
from segments.models import Event, Profile, VisitorLink
from tenancy.models import Site
from tenancy.services import site_identity_secret_rotate
from tests.factories import user_with_role


def reference_hash(secret: str, user_id: str) -> str:
    # What integration.md tells sites to compute, written independently of tenancy.identity.
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def person(site):
    return Profile.objects.create(site=site, user_id="u-vip", traits={"age": 44})


def known(user_hash=None, **extra):
    visitor = {"id": "anon-attacker", "user_id": "u-vip"}
    if user_hash is not None:
        visitor["user_hash"] = user_hash
    return {"visitor": visitor, "explain": True, **extra}


@pytest.mark.parametrize("user_hash", [None, "", "0" * 64, "not-hex", "é" * 10])
def test_public_key_without_valid_proof_is_anonymous(decide, site, person, user_hash):
    body = known(user_hash)
    if user_hash == "":
        body["visitor"]["user_hash"] = ""
    with mock.patch.object(tasks.visits_record_task, "delay") as delay:
        r = decide(body, sign=False)
    if user_hash == "":
        assert r.status_code == 400
        assert r.json()["error"]["fields"][0]["path"] == "visitor.user_hash"
        return
    assert r.status_code == 200, r.content
    answer = r.json()
    # Neither the static segment of u-vip nor their stored age shows, in variants or explain.
    assert answer["placements"]["home_hero"]["variant"] == "hero-default"
    assert answer["placements"]["banner"]["variant"] != "adult-banner"
    assert "vip" not in answer["explain"]["segments"]
    assert "adults" not in answer["explain"]["segments"]
    # The stored age (44) appears nowhere as a value (ids and timings may contain "44").
    assert not re.search(r":\s*44\b", r.content.decode())
    delay.assert_not_called()  # no visit record, so no linking of the caller's anonymous id
    assert not VisitorLink.objects.filter(site=site).exists()


def test_inline_traits_still_apply_without_proof(decide, person):
    r = decide(known(profile={"age": 30}), sign=False)
    assert r.json()["placements"]["banner"]["variant"] == "adult-banner"


def test_valid_proof_loads_the_stored_person(decide, site, person):
    with mock.patch.object(tasks.visits_record_task, "delay") as delay:
        r = decide(known(reference_hash(site.identity_secret, "u-vip")), sign=False)
    answer = r.json()
    assert answer["placements"]["home_hero"]["variant"] == "vip-hero"
    assert {"vip", "adults"} <= set(answer["explain"]["segments"])
    delay.assert_called_once()


def test_uppercase_hex_proof_is_accepted(decide, site, person):
    r = decide(known(reference_hash(site.identity_secret, "u-vip").upper()), sign=False)
    assert r.json()["placements"]["home_hero"]["variant"] == "vip-hero"


def test_proof_of_another_user_id_does_not_verify(decide, site, person):
    r = decide(known(reference_hash(site.identity_secret, "u-other")), sign=False)
    assert r.json()["placements"]["home_hero"]["variant"] == "hero-default"


def test_proof_made_with_another_sites_secret_does_not_verify(decide, person, other_site):
    r = decide(known(reference_hash(other_site.identity_secret, "u-vip")), sign=False)
    assert r.json()["placements"]["home_hero"]["variant"] == "hero-default"


def test_server_key_is_trusted_without_proof(decide, person, server_key):
    r = decide(known(), key=server_key, sign=False)
    assert r.json()["placements"]["home_hero"]["variant"] == "vip-hero"


def test_site_may_turn_verification_off(api_client, decide, site, person):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    r = api_client.patch(
        f"/api/v1/sites/{site.pk}/", {"require_identity_verification": False}, format="json"
    )
    assert r.status_code == 200 and r.json()["require_identity_verification"] is False
    api_client.force_authenticate(None)
    r = decide(known(), sign=False)
    assert r.json()["placements"]["home_hero"]["variant"] == "vip-hero"


def test_rotation_invalidates_old_hashes_at_once(decide, site, person):
    old = reference_hash(site.identity_secret, "u-vip")
    assert decide(known(old), sign=False).json()["placements"]["home_hero"]["variant"] == "vip-hero"
    new_secret = site_identity_secret_rotate(site=site)
    assert decide(known(old), sign=False).json()["placements"]["home_hero"]["variant"] == (
        "hero-default"
    )
    fresh = reference_hash(new_secret, "u-vip")
    assert decide(known(fresh), sign=False).json()["placements"]["home_hero"]["variant"] == (
        "vip-hero"
    )


# --- events -----------------------------------------------------------------------------------


def test_public_events_for_unverified_user_ids_are_refused(send_events, site):
    r = send_events(
        {
            "visitor": {"id": "anon-1"},
            "events": [
                {"id": "a", "name": "view"},
                {"id": "b", "name": "buy", "user_id": "victim-1"},
                {"id": "c", "name": "buy", "user_id": "victim-2", "user_hash": "0" * 64},
            ],
        },
        sign=False,
    )
    assert r.status_code == 400
    paths = [f["path"] for f in r.json()["error"]["fields"]]
    assert paths == ["events[1].user_hash", "events[2].user_hash"]
    assert not Profile.objects.filter(site=site).exists()
    assert not Event.objects.filter(site=site).exists()


def test_public_events_batch_user_needs_proof(send_events, site, person):
    body = {"visitor": {"id": "anon-1", "user_id": "u-vip"}, "events": [{"name": "x"}]}
    r = send_events(body, sign=False)
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["path"] == "events[0].user_hash"
    body["visitor"]["user_hash"] = reference_hash(site.identity_secret, "u-vip")
    r = send_events(body, sign=False)
    assert r.status_code == 202 and r.json()["stored"] == 1
    assert Event.objects.get(site=site).profile == person


def test_server_key_events_create_profiles_without_proof(send_events, site, server_key):
    r = send_events({"events": [{"name": "x", "user_id": "u-new"}]}, key=server_key, sign=False)
    assert r.status_code == 202
    assert Profile.objects.filter(site=site, user_id="u-new").exists()


# --- the secret: API, admin and template tag ------------------------------------------------


def test_secret_is_not_in_site_lists_or_details(api_client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    listing = api_client.get("/api/v1/sites/").content.decode()
    detail = api_client.get(f"/api/v1/sites/{site.pk}/").content.decode()
    assert site.identity_secret not in listing and site.identity_secret not in detail


def test_only_site_admins_read_or_rotate_the_secret(api_client, site):
    viewer = user_with_role(site, "viewer", username="viewer")
    api_client.force_authenticate(viewer)
    url = f"/api/v1/sites/{site.pk}/identity-secret/"
    assert api_client.get(url).status_code == 403
    assert api_client.post(url).status_code == 403
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    r = api_client.get(url)
    assert r.status_code == 200 and r.json()["identity_secret"] == site.identity_secret
    rotated = api_client.post(url).json()["identity_secret"]
    assert rotated != site.identity_secret
    assert Site.objects.get(pk=site.pk).identity_secret == rotated


def test_other_sites_secret_is_404(api_client, site, other_site):
    admin = user_with_role(site, "site_admin", username="boss")
    api_client.force_authenticate(admin)
    r = api_client.get(f"/api/v1/sites/{other_site.pk}/identity-secret/")
    assert r.status_code == 404


def test_admin_shows_the_secret_to_site_admins_only(client, site):
    viewer = user_with_role(site, "viewer", username="viewer")
    client.force_login(viewer)
    page = client.get(f"/admin/tenancy/site/{site.pk}/change/")
    assert page.status_code == 200 and site.identity_secret not in page.content.decode()
    admin = user_with_role(site, "site_admin", username="boss")
    client.force_login(admin)
    page = client.get(f"/admin/tenancy/site/{site.pk}/change/")
    assert site.identity_secret in page.content.decode()


def test_admin_action_rotates(client, site):
    admin = user_with_role(site, "site_admin", username="boss")
    client.force_login(admin)
    old = site.identity_secret
    r = client.post(
        "/admin/tenancy/site/",
        {"action": "rotate_identity_secrets", "_selected_action": [site.pk]},
    )
    assert r.status_code == 302
    assert Site.objects.get(pk=site.pk).identity_secret != old


def test_template_tag_signs_what_the_api_verifies(decide, site, person, settings):
    settings.PERSONALIZE_SITE = site.slug
    rendered = Template("{% load personalize %}{% personalize_user_hash uid %}").render(
        Context({"uid": "u-vip", "request": RequestFactory().get("/")})
    )
    assert rendered == reference_hash(site.identity_secret, "u-vip")
    r = decide(known(rendered), sign=False)
    assert r.json()["placements"]["home_hero"]["variant"] == "vip-hero"
    empty = Template("{% load personalize %}[{% personalize_user_hash '' %}]").render(Context({}))
    assert empty == "[]"
