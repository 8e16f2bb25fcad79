"""The demo site: `manage.py seed_demo`. Idempotent; each app adds its own demo data.

The printed keys stay the same across runs (delivery.demo_keys keeps their plaintext in a
git-ignored local file), and the `admin`/`admin` login is only ever created in debug mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from delivery.demo_keys import demo_key
from tenancy.models import Site
from tenancy.roles import Role
from tenancy.services import role_grant, site_create

DEMO_SLUG = "demo"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - a local demo login, printed on purpose


@dataclass
class DemoCredentials:
    site: Site
    username: str | None  # None: no demo login (--no-admin)
    password: str | None  # None: an existing `admin` whose password is not the demo one
    delivery_key: str
    server_key: str


class DemoAdminRefused(Exception):
    """The `admin`/`admin` login would be created outside debug mode."""


def seed_demo(*, stdout=None, create_admin: bool = True) -> DemoCredentials:
    """Create or refresh the demo site. `create_admin`: the local `admin`/`admin` superuser,
    which only debug mode may create (DemoAdminRefused otherwise)."""
    from analytics import demo as analytics_demo
    from analytics.suggestions import demo as suggestions_demo
    from content import demo as content_demo
    from experiments import demo as experiments_demo
    from segments import demo as segments_demo

    with transaction.atomic():
        site = Site.objects.filter(slug=DEMO_SLUG).first() or site_create(
            name="Demo Bank & Shop",
            slug=DEMO_SLUG,
            timezone_name="America/Detroit",
            allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"],
        )
        admin_password: str | None = None
        if create_admin:
            user_model = get_user_model()
            admin_user = user_model.objects.filter(username=ADMIN_USERNAME).first()
            if admin_user is None:
                if not settings.DEBUG:
                    raise DemoAdminRefused(
                        f"Refusing to create the superuser {ADMIN_USERNAME!r} with the password "
                        f"{ADMIN_PASSWORD!r} while DEBUG is off: set DEBUG=true for a local "
                        "demo, or pass --no-admin and create a real login with createsuperuser."
                    )
                admin_user = user_model.objects.create_superuser(
                    ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD
                )
            role_grant(site=site, user=admin_user, role=Role.SITE_ADMIN)
            # An existing `admin` whose password was changed keeps it: never print a stale one.
            admin_password = ADMIN_PASSWORD if admin_user.check_password(ADMIN_PASSWORD) else None
        delivery = demo_key(site=site, kind="delivery")
        server = demo_key(site=site, kind="server")
    segments_demo.seed(site, stdout=stdout)
    content_demo.seed(site, stdout=stdout)
    analytics_demo.seed(site, stdout=stdout)
    experiments_demo.seed(site, stdout=stdout)
    suggestions_demo.seed(site, stdout=stdout)
    login = (ADMIN_USERNAME, admin_password) if create_admin else (None, None)
    return DemoCredentials(site, *login, delivery, server)
