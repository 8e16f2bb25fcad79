"""The admin: list with status and AUC vs baseline, the change page's versions and
calibration chart data, enabling only once trained, "Train now", per-site scoping."""

from __future__ import annotations

import json
import re

import pytest

from analytics.models import PredictiveModel, PredictiveStatus
from analytics.predictive.services import predictive_model_create, predictive_model_train
from segments.models import Field, Profile
from tenancy.roles import Role
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(site):
    return user_with_role(site, Role.MARKETER, username="marketer")


@pytest.fixture
def trained(population, now):
    model = predictive_model_create(site=population, name="purchase_14d", goal_event="purchase")
    predictive_model_train(model=model, now=now)
    return model


def _form(model, **changes):
    data = {
        "site": model.site_id,
        "name": model.name,
        "label": model.label,
        "goal_metric": "",
        "goal_event": model.goal_event,
        "horizon_days": model.horizon_days,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_list_and_change_page_show_quality_and_calibration(client, marketer, trained):
    client.force_login(marketer)
    version = trained.versions.get()
    r = client.get("/admin/analytics/predictivemodel/")
    assert r.status_code == 200
    assert f"{version.auc:.3f} ({version.baseline_auc:.3f})" in r.content.decode()
    r = client.get(f"/admin/analytics/predictivemodel/{trained.pk}/change/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "analytics/vendor/chart.umd.js" in html and "analytics/predictive.js" in html
    assert f'data-calibration="calibration-{version.pk}"' in html
    found = re.search(
        rf'<script id="calibration-{version.pk}" type="application/json">(.*?)</script>', html
    )
    chart = json.loads(found.group(1))
    assert [p["y"] for p in chart["points"]] == [b["observed"] for b in version.calibration]
    assert [p["count"] for p in chart["points"]] == [b["count"] for b in version.calibration]
    assert chart["diagonal"][0] == {"x": 0, "y": 0}
    assert chart["diagonal"][1]["x"] == chart["diagonal"][1]["y"] > 0
    assert f"{version.baseline_auc}" in html and f"{version.auc}" in html
    assert "<script>" not in html.split("</head>")[0].split("<head>")[1]  # no inline script


def test_enabling_needs_a_trained_version(client, marketer, site):
    client.force_login(marketer)
    model = predictive_model_create(site=site, name="never_trained", goal_event="purchase")
    r = client.post(
        f"/admin/analytics/predictivemodel/{model.pk}/change/", _form(model, enabled="on")
    )
    assert r.status_code == 200
    assert "Train the model at least once before enabling it." in r.content.decode()
    model.refresh_from_db()
    assert not model.enabled


def test_enabling_in_the_admin_registers_the_field_and_scores(client, marketer, trained):
    client.force_login(marketer)
    url = f"/admin/analytics/predictivemodel/{trained.pk}/change/"
    with_commit = client.post(url, _form(trained, enabled="on"))
    assert with_commit.status_code == 302
    trained.refresh_from_db()
    assert trained.enabled
    assert Field.objects.filter(path="profile.predicted.purchase_14d").exists()
    r = client.post(url, _form(trained))
    assert r.status_code == 302
    assert not Field.objects.filter(path="profile.predicted.purchase_14d").exists()
    assert not Profile.objects.filter(traits__predicted__has_key="purchase_14d").exists()


def test_train_now_action(client, marketer, population):
    client.force_login(marketer)
    model = predictive_model_create(site=population, name="buy", goal_event="purchase")
    r = client.post(
        "/admin/analytics/predictivemodel/",
        {"action": "train_now", "_selected_action": [model.pk]},
    )
    assert r.status_code == 302
    model.refresh_from_db()
    assert model.status == PredictiveStatus.READY and model.versions.count() == 1


def test_other_sites_models_are_invisible(client, other_site, site):
    model = predictive_model_create(site=other_site, name="theirs", goal_event="purchase")
    client.force_login(user_with_role(site, Role.MARKETER, username="m2"))
    assert "theirs" not in client.get("/admin/analytics/predictivemodel/").content.decode()
    r = client.get(f"/admin/analytics/predictivemodel/{model.pk}/change/")
    assert r.status_code in (302, 404)
    assert PredictiveModel.objects.filter(pk=model.pk).exists()


def test_bad_definitions_are_form_errors(client, marketer, site):
    client.force_login(marketer)
    r = client.post(
        "/admin/analytics/predictivemodel/add/",
        {"site": site.pk, "name": "Bad-Name", "goal_event": "", "horizon_days": 9999},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "Lowercase letters, digits and _" in html
    assert "A whole number of days from 1 to 180." in html
    assert not PredictiveModel.objects.exists()
