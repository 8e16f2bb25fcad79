"""Schemathesis over every operation of the OpenAPI schema, against the WSGI app, with the
delivery key, the server key and a staff user's session: no server errors (5xx) and no
response that the schema does not describe (status, content type, body)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck, settings

from personalize.wsgi import application
from tests.factories import SiteFactory, make_key, user_with_role

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 4  # per operation and caller: the whole run stays within a few minutes


# Loaded at collection (the schema view needs no database); schemathesis' lazy fixture
# loader does not support pytest 9 yet.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def callers(db, client):
    """Headers for each kind of caller, on a site with a little data."""
    from tenancy.roles import Role
    from tests.delivery.conftest import build_site_config

    site = SiteFactory(slug="schema", name="Schema")
    build_site_config(site)
    staff = user_with_role(site, Role.SITE_ADMIN, username="schema-admin")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    csrf = _get_new_csrf_string()
    session = client.cookies["sessionid"].value
    return {
        "delivery": {"Authorization": f"Api-Key {make_key(site, 'delivery')}"},
        "server": {"Authorization": f"Api-Key {make_key(site, 'server')}"},
        "staff": {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf},
    }


SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


REQUESTS: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    """Print how many requests each caller made (the figure the CI log keeps)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"schemathesis requests: {REQUESTS} total={sum(REQUESTS.values())}")


def check(case, headers: dict[str, str], caller: str) -> None:
    headers = {**(case.headers or {}), **headers}
    REQUESTS[caller] = REQUESTS.get(caller, 0) + 1
    response = case.call(headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    case.validate_response(response, headers=headers)


@schema.parametrize()
@SETTINGS
def test_with_the_delivery_key(case, callers):
    check(case, callers["delivery"], "delivery")


@schema.parametrize()
@SETTINGS
def test_with_the_server_key(case, callers):
    check(case, callers["server"], "server")


@schema.parametrize()
@SETTINGS
def test_as_a_staff_user(case, callers):
    check(case, callers["staff"], "staff")
