"""/api/v1/metrics/: site-scoped, role-checked, definitions validated with field paths; and
the admin form."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from analytics.models import Metric
from analytics.services.metrics import metric_create
from tenancy.roles import Role
from tests.factories import user_with_role

URL = "/api/v1/metrics/"
REVENUE = {
    "key": "revenue",
    "name": "Revenue",
    "kind": "sum",
    "event": "purchase",
    "property": "price",
    "cap": "percentile",
    "cap_value": 99,
}


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def marketer(site):
    return client_for(user_with_role(site, Role.MARKETER, username="marketer"))


def test_create_list_update_delete(site, marketer):
    r = marketer.post(URL, {"site": site.pk, **REVENUE}, format="json")
    assert r.status_code == 201, r.content
    revenue_id = r.json()["id"]
    orders = marketer.post(
        URL,
        {"site": site.pk, "key": "orders", "name": "Orders", "kind": "count", "event": "purchase"},
        format="json",
    ).json()["id"]
    r = marketer.post(
        URL,
        {
            "site": site.pk,
            "key": "aov",
            "name": "Average order value",
            "kind": "ratio",
            "numerator": revenue_id,
            "denominator": orders,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    ratio_id = r.json()["id"]
    assert {m["key"] for m in marketer.get(URL).json()["results"]} == {"revenue", "orders", "aov"}
    r = marketer.patch(f"{URL}{revenue_id}/", {"window_days": 3}, format="json")
    assert r.status_code == 200 and r.json()["window_days"] == 3
    r = marketer.delete(f"{URL}{revenue_id}/")
    assert r.status_code == 400 and "ratio" in r.content.decode()
    assert marketer.delete(f"{URL}{ratio_id}/").status_code == 204
    assert marketer.delete(f"{URL}{revenue_id}/").status_code == 204
    assert list(Metric.objects.values_list("key", flat=True)) == ["orders"]


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"kind": "sum", "event": "purchase"}, "property", "numeric event property"),
        ({"kind": "count", "event": "x", "window_days": 400}, "window_days", "1 to 90"),
        (
            {
                "kind": "count",
                "event": "x",
                "where": {"all": [{"field": "properties.a", "op": "between", "value": 1}]},
            },
            "where",
            "where.all[0].value",
        ),
        ({"kind": "ratio"}, "numerator", "numerator and a denominator"),
        ({"kind": "count", "event": "x", "cap": "value"}, "cap_value", "number"),
    ],
    ids=["sum-property", "window", "where-path", "ratio-parts", "cap-value"],
)
def test_invalid_definitions_are_400_by_field(site, marketer, body, field, text):
    r = marketer.post(URL, {"site": site.pk, "key": "m", "name": "M", **body}, format="json")
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert any(f["path"] == field and text in f["message"] for f in error["fields"]), error
    assert not Metric.objects.exists()


def test_roles_and_sites(site, other_site):
    theirs = metric_create(site=other_site, key="t", name="T", kind="count", event="x")
    viewer = client_for(user_with_role(site, Role.VIEWER, username="viewer"))
    assert viewer.post(URL, {"site": site.pk, **REVENUE}, format="json").status_code == 403
    assert viewer.get(f"{URL}{theirs.pk}/").status_code == 404
    assert viewer.get(URL).json()["count"] == 0
    editor = client_for(user_with_role(site, Role.EDITOR, username="editor"))
    assert editor.post(URL, {"site": site.pk, **REVENUE}, format="json").status_code == 403
    marketer = client_for(user_with_role(site, Role.MARKETER, username="m2"))
    r = marketer.post(URL, {"site": other_site.pk, **REVENUE}, format="json")
    assert r.status_code == 400 and "site" in r.content.decode()
    mine = metric_create(site=site, key="mine", name="Mine", kind="count", event="x")
    r = marketer.post(
        URL,
        {
            "site": site.pk,
            "key": "r",
            "name": "R",
            "kind": "ratio",
            "numerator": mine.pk,
            "denominator": theirs.pk,
        },
        format="json",
    )
    assert r.status_code == 400 and "denominator" in r.content.decode()


def test_duplicate_key_is_a_field_error(site, marketer):
    assert marketer.post(URL, {"site": site.pk, **REVENUE}, format="json").status_code == 201
    r = marketer.post(URL, {"site": site.pk, **REVENUE}, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"][0]["path"] == "key"


def test_admin_form_shows_definition_errors(site, client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(admin)
    form = {
        "site": site.pk,
        "key": "m",
        "name": "M",
        "kind": "sum",
        "event": "buy",
        "window_days": 7,
        "cap": "none",
    }
    r = client.post("/admin/analytics/metric/add/", form)
    assert r.status_code == 200 and "numeric event property" in r.content.decode()
    r = client.post("/admin/analytics/metric/add/", {**form, "property": "price"})
    assert r.status_code == 302 and Metric.objects.get().property == "price"
