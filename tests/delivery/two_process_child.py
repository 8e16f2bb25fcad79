"""Child process for test_snapshot_processes.py (not a test module).

    python -m tests.delivery.two_process_child setup            -> prints {"site_id": ...}
    python -m tests.delivery.two_process_child watch <site_id>  -> prints the live hero variant
    python -m tests.delivery.two_process_child publish <site_id> -> publishes a new hero variant

Runs with DATABASE_URL (a file SQLite database shared by the processes) and REDIS_URL.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402


def setup() -> None:
    from tests.delivery.conftest import build_site_config
    from tests.factories import SiteFactory

    call_command("migrate", verbosity=0)
    site = SiteFactory(slug="two-process")
    build_site_config(site)
    print(json.dumps({"site_id": site.pk}), flush=True)


def watch(site_id: int) -> None:
    from delivery import engine
    from delivery.snapshot import snapshot_get

    doc = {"visitor": {"id": "anon-1"}, "profile": {}, "context": {}, "events": []}
    deadline = time.monotonic() + float(os.environ.get("WATCH_SECONDS", "30"))
    while time.monotonic() < deadline:
        snap = snapshot_get(site_id)
        body = engine.decide(snap, doc, now=timezone.now(), placements=("home_hero",))
        variant = body["placements"]["home_hero"]["variant"]
        print(
            json.dumps({"t": time.time(), "variant": variant, "version": snap.version}), flush=True
        )
        time.sleep(0.02)


def publish(site_id: int) -> None:
    from content.models import Placement
    from content.services.publishing import slot_publish

    hero = Placement.objects.get(site_id=site_id, key="home_hero")
    default = hero.variants.get(segment__isnull=True)
    default.key = "hero-v2"
    default.body = "<p>Welcome v2</p>"
    default.save()
    slot_publish(slot=hero)
    print(json.dumps({"published_at": time.time()}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "setup":
        setup()
    elif mode == "watch":
        watch(int(sys.argv[2]))
    elif mode == "publish":
        publish(int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")
