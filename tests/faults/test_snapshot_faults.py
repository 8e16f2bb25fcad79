"""A publish whose configuration cannot be loaded (the rebuild raises) and a database that
disappears after the snapshot was built: the process keeps serving the snapshot it has."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from delivery import snapshot as snapshot_module
from tenancy.services import site_config_bump
from tests.delivery.conftest import build_site_config, post

pytestmark = [pytest.mark.fault, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    from delivery.authentication import forget_keys

    snapshot_module.snapshot_forget()
    forget_keys()
    yield
    snapshot_module.snapshot_forget()
    forget_keys()


@pytest.fixture
def config(site):
    return build_site_config(site)


def _decide(api_client, key):
    return post(
        api_client, "/api/v1/decide", {"visitor": {"id": "v"}, "context": {"city": "Detroit"}}, key
    )


def test_a_failing_rebuild_keeps_the_previous_snapshot(
    api_client, delivery_key, config, site, monkeypatch, django_capture_on_commit_callbacks
):
    first = _decide(api_client, delivery_key)
    assert first.status_code == 200
    old_version = snapshot_module._entries[site.pk].snapshot.version

    def broken_build(site_id):
        raise RuntimeError("the published configuration does not load")

    monkeypatch.setattr(snapshot_module, "snapshot_build", broken_build)
    with django_capture_on_commit_callbacks(execute=True):
        site_config_bump(site_id=site.pk)  # a publish: the version moves on
    monkeypatch.setattr(snapshot_module, "CHECK_INTERVAL", 0.0)
    again = _decide(api_client, delivery_key)
    assert again.status_code == 200
    assert again.json()["placements"] == first.json()["placements"]
    assert snapshot_module._entries[site.pk].snapshot.version == old_version

    monkeypatch.undo()  # the next check rebuilds and serves the new version
    monkeypatch.setattr(snapshot_module, "CHECK_INTERVAL", 0.0)
    assert _decide(api_client, delivery_key).status_code == 200
    assert snapshot_module._entries[site.pk].snapshot.version > old_version


def test_no_snapshot_and_no_database_is_a_503_not_a_500(
    api_client, delivery_key, config, site, monkeypatch
):
    assert _decide(api_client, delivery_key).status_code == 200  # key memo is warm
    snapshot_module.snapshot_forget()

    def unreachable(site_id):
        raise OperationalError("connection refused")

    monkeypatch.setattr(snapshot_module, "site_config_version", unreachable)
    r = _decide(api_client, delivery_key)
    assert r.status_code == 503
    assert r["Retry-After"]
    assert r.json()["error"]["code"] == "unavailable"
