"""The demo site: `manage.py seed_demo`. Idempotent; each app adds its own demo data."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from tenancy.models import ApiKey, ApiKeyKind, Site
from tenancy.roles import Role
from tenancy.services import api_key_create, api_key_revoke, role_grant, site_create

DEMO_SLUG = "demo"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - a local demo login, printed on purpose


@dataclass
class DemoCredentials:
    site: Site
    username: str
    password: str
    delivery_key: str
    server_key: str


def _fresh_key(site: Site, kind: str) -> str:
    # Keys are stored hashed, so a re-run cannot print the old one: it replaces it.
    for key in ApiKey.objects.filter(site=site, kind=kind, name="Demo", revoked_at=None):
        api_key_revoke(key=key)
        key.delete()
    return api_key_create(site=site, kind=kind, name="Demo")[1]


def seed_demo(*, stdout=None) -> DemoCredentials:
    from analytics import demo as analytics_demo
    from content import demo as content_demo
    from segments import demo as segments_demo

    with transaction.atomic():
        site = Site.objects.filter(slug=DEMO_SLUG).first() or site_create(
            name="Demo Bank & Shop",
            slug=DEMO_SLUG,
            timezone_name="America/Detroit",
            allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"],
        )
        user_model = get_user_model()
        admin_user = user_model.objects.filter(username=ADMIN_USERNAME).first()
        if admin_user is None:
            admin_user = user_model.objects.create_superuser(
                ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD
            )
        role_grant(site=site, user=admin_user, role=Role.SITE_ADMIN)
        delivery = _fresh_key(site, ApiKeyKind.DELIVERY)
        server = _fresh_key(site, ApiKeyKind.SERVER)
    segments_demo.seed(site, stdout=stdout)
    content_demo.seed(site, stdout=stdout)
    analytics_demo.seed(site, stdout=stdout)
    return DemoCredentials(site, ADMIN_USERNAME, ADMIN_PASSWORD, delivery, server)
