"""Schemathesis over every operation of the OpenAPI schema, against the WSGI app, with the
delivery key, the server key and a staff user's session: no server errors (5xx) and no
response that the schema does not describe (status, content type, body)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from personalize.wsgi import application
from tests.factories import SiteFactory, make_key, user_with_role

pytestmark = pytest.mark.django_db

# Per operation and caller. A run makes about 17,000 requests (255 operation x caller
# tests) in 1.5 to 4 minutes, depending on the machine's load.
MAX_EXAMPLES = 4


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


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: the request signals must not close the connection that
    holds the test's transaction (Django closes a connection found outside autocommit)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Refusals for rules OpenAPI 3.0 cannot state (the descriptions say them): events at most a
# day ahead; no NUL or lone surrogate in keys and text anywhere; a public key's user_id
# needs a valid HMAC proof; attribution only on impressions, clicks and conversions, and
# a variant or reason only with its slot (cross-field rules); echoed assignments' keys are
# experiment keys (OpenAPI 3.0 has no propertyNames).
UNSTATABLE = (
    "more than a day in the future",
    "not storable",
    "NUL",
    "surrogate",
    "needs its user_hash",
    "carry slot/variant",
    "Not an experiment key",
)
UNSTATABLE_AT = ((".slot", "equired"),)


def _unstatable(field: dict) -> bool:
    message, path = field["message"], field.get("path", "")
    return any(u in message for u in UNSTATABLE) or any(
        path.endswith(suffix) and fragment in message for suffix, fragment in UNSTATABLE_AT
    )


def refused_only_for_unstatable_rules(response) -> bool:
    if response.status_code != 400:
        return False
    fields = response.json()["error"].get("fields", [])
    return bool(fields) and all(_unstatable(f) for f in fields)


def check(case, headers: dict[str, str]) -> None:
    headers = {**(case.headers or {}), **headers}
    response = case.call(headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    unstatable = refused_only_for_unstatable_rules(response)
    excluded = [positive_data_acceptance] if unstatable else []
    case.validate_response(response, headers=headers, excluded_checks=excluded)


@schema.parametrize()
@SETTINGS
def test_with_the_delivery_key(case, callers):
    check(case, callers["delivery"])


@schema.parametrize()
@SETTINGS
def test_with_the_server_key(case, callers):
    check(case, callers["server"])


@schema.parametrize()
@SETTINGS
def test_as_a_staff_user(case, callers):
    check(case, callers["staff"])
