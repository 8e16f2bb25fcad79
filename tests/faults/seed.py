"""Run in a subprocess by the fault tests: migrate-free seeding of a fresh database with a
site, its keys and a published configuration. Prints {"delivery": key, "server": key}."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "personalize.settings")

import django

django.setup()

from tenancy.services import api_key_create, site_create  # noqa: E402
from tests.delivery.conftest import build_site_config  # noqa: E402

site = site_create(name="Faults", slug="faults")
build_site_config(site)
print(
    json.dumps(
        {
            "delivery": api_key_create(site=site, kind="delivery", name="d")[1],
            "server": api_key_create(site=site, kind="server", name="s")[1],
            "site_id": site.pk,
        }
    )
)
