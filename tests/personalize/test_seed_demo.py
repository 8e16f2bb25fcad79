import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.html import escapejs

from tenancy.models import ApiKey, Site
from tenancy.selectors import api_key_resolve


def printed_keys(out: str) -> dict[str, str]:
    return {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in out.splitlines()
        if "key:" in line
    }


@pytest.fixture
def keys_file(settings, tmp_path):
    settings.PERSONALIZE_DEMO_KEYS_FILE = str(tmp_path / "var" / "demo_keys.json")
    return tmp_path / "var" / "demo_keys.json"


@pytest.mark.django_db
def test_seed_demo_twice_prints_the_same_keys_and_both_runs_work(capsys, settings, keys_file):
    settings.DEBUG = True
    call_command("seed_demo")
    first = printed_keys(capsys.readouterr().out)
    call_command("seed_demo")
    second_out = capsys.readouterr().out
    second = printed_keys(second_out)
    assert Site.objects.filter(slug="demo").count() == 1
    assert "Admin login:   admin / admin" in second_out
    assert first == second  # the first run's keys still work
    delivery = api_key_resolve(second["Delivery key"])
    server = api_key_resolve(second["Server key"])
    assert delivery and delivery.kind == "delivery" and not delivery.revoked
    assert server and server.kind == "server" and not server.revoked
    assert ApiKey.objects.filter(site__slug="demo", revoked_at=None).count() == 2
    stored = json.loads(keys_file.read_text())
    assert stored["demo"] == {"delivery": first["Delivery key"], "server": first["Server key"]}
    assert keys_file.stat().st_mode & 0o077 == 0  # owner-only


@pytest.mark.django_db
def test_a_revoked_or_lost_key_is_replaced_and_the_old_ones_retired(capsys, settings, keys_file):
    settings.DEBUG = True
    call_command("seed_demo")
    first = printed_keys(capsys.readouterr().out)
    ApiKey.objects.filter(prefix=first["Delivery key"][:10]).update(revoked_at="2026-01-01T00:00Z")
    keys_file.unlink()  # and the file is lost too: the server key must be replaced as well
    from django.core.cache import cache

    cache.clear()
    call_command("seed_demo")
    second = printed_keys(capsys.readouterr().out)
    assert second["Delivery key"] != first["Delivery key"]
    assert second["Server key"] != first["Server key"]
    assert api_key_resolve(first["Server key"]).revoked  # unprintable: retired
    assert not api_key_resolve(second["Delivery key"]).revoked
    assert ApiKey.objects.filter(site__slug="demo", revoked_at=None).count() == 2


@pytest.mark.django_db
def test_demo_page_uses_the_printed_delivery_key(capsys, settings, keys_file):
    settings.DEBUG = True
    settings.PERSONALIZE_DEMO = True
    call_command("seed_demo")
    keys = printed_keys(capsys.readouterr().out)
    before = ApiKey.objects.count()
    for _ in range(2):
        page = Client().get("/demo/?site=demo")
        assert page.status_code == 200
        assert escapejs(keys["Delivery key"]) in page.content.decode()  # as the JS reads it
    assert ApiKey.objects.count() == before


@pytest.mark.django_db
def test_seed_demo_refuses_the_admin_login_outside_debug(settings, keys_file, capsys):
    from django.contrib.auth import get_user_model

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    assert not get_user_model().objects.filter(username="admin").exists()
    assert not Site.objects.filter(slug="demo").exists()
    call_command("seed_demo", "--no-admin")
    out = capsys.readouterr().out
    assert "Admin login" not in out and "Delivery key" in out
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_a_rerun_points_old_demo_image_paths_at_the_shipped_images(settings, keys_file):
    from pathlib import Path

    from content.models import ContentVariant, ScreenVariant
    from delivery.snapshot import snapshot_forget, snapshot_get
    from personalize.demo import seed_demo

    static = Path(settings.BASE_DIR) / "static"
    site = seed_demo(create_admin=False).site
    banner = ContentVariant.objects.get(
        placement__site=site, key="default", placement__key="app_banner"
    )
    ContentVariant.objects.filter(pk=banner.pk).update(
        body=banner.body.replace("/static/demo/spring.svg", "/static/demo/spring.png")
    )
    home = ScreenVariant.objects.get(screen__site=site, key="default")
    design = home.design
    design["root"]["children"][0]["props"]["image"] = "/static/demo/day.jpg"
    ScreenVariant.objects.filter(pk=home.pk).update(design=design)

    seed_demo(create_admin=False)
    banner.refresh_from_db()
    home.refresh_from_db()
    assert "/static/demo/spring.svg" in banner.body
    assert home.design["root"]["children"][0]["props"]["image"] == "/static/demo/day.svg"
    snapshot_forget()
    published = snapshot_get(site.pk).published
    assert "spring.svg" in str(published.placements["app_banner"].default.payload)
    # Every image the demo content names is shipped.
    for variant in ContentVariant.objects.filter(placement__site=site, placement__kind="image"):
        src = json.loads(variant.body)["src"]
        assert (static / src.removeprefix("/static/")).is_file(), src
    for variant in ScreenVariant.objects.filter(screen__site=site):
        for node in variant.design["root"]["children"]:
            image = node.get("props", {}).get("image")
            if image:
                assert (static / image.removeprefix("/static/")).is_file(), image


@pytest.mark.django_db
def test_a_kept_admin_whose_password_changed_is_not_printed_as_admin_admin(
    settings, keys_file, capsys
):
    from django.contrib.auth import get_user_model

    settings.DEBUG = True
    get_user_model().objects.create_superuser("admin", "a@example.com", "a-real-password")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "admin / admin" not in out
    assert "Admin login:   admin / (your own password" in out
    assert get_user_model().objects.get(username="admin").check_password("a-real-password")
