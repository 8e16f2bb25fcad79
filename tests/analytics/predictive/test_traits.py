"""Training through the service, scores as traits, the field catalog, segments on the score
in memory and in SQL, disabling, erasure and the reserved traits key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from analytics.models import PredictiveModel, PredictiveModelVersion, PredictiveStatus
from analytics.predictive.services import (
    MIN_POSITIVES,
    predictive_model_create,
    predictive_model_disable,
    predictive_model_enable,
    predictive_model_train,
    predictive_scores_write,
)
from analytics.tasks import train_predictive_models
from delivery.services import profile_erase
from segments.criteria import compile_criteria
from segments.documents import profile_document
from segments.models import Field, Profile
from segments.selectors.catalog import site_field_catalog
from segments.selectors.members import segment_count
from segments.services.segments import segment_create
from tests.delivery.conftest import post, put

pytestmark = pytest.mark.django_db

LIKELY_BUYERS = {"all": [{"field": "profile.predicted.purchase_14d", "op": "gte", "value": 0.6}]}


@pytest.fixture
def model(population):
    return predictive_model_create(
        site=population, name="purchase_14d", goal_event="purchase", horizon_days=14
    )


@pytest.fixture
def enabled(model, now):
    predictive_model_train(model=model, now=now)
    predictive_model_enable(model=model)
    predictive_scores_write(model=model, now=now)
    return model


def test_training_beats_the_baseline_on_the_held_out_set(model, now):
    result = predictive_model_train(model=model, now=now)
    assert result.status == PredictiveStatus.READY
    version = result.version
    assert version.train_cutoff == now - timedelta(days=28)
    assert version.test_cutoff == now - timedelta(days=14)
    assert version.train_positives >= MIN_POSITIVES and version.test_positives > 0
    # The simulation makes VIPs buy three times as often: the model knows the trait, the
    # recency-frequency baseline does not.
    assert version.auc > 0.7
    assert version.auc > version.baseline_auc + 0.01
    coefficients = dict(zip(version.features, version.params["coefficients"], strict=True))
    assert coefficients["trait:vip"] > 0.2
    # Calibrated on the whole: mean prediction within 20 % of the observed rate.
    n = sum(b["count"] for b in version.calibration)
    predicted = sum(b["predicted"] * b["count"] for b in version.calibration) / n
    observed = sum(b["observed"] * b["count"] for b in version.calibration) / n
    assert n == version.test_size
    assert observed == pytest.approx(version.test_positives / version.test_size, abs=1e-3)
    assert predicted == pytest.approx(observed, rel=0.2)


def test_every_run_is_kept_as_a_version(model, now):
    predictive_model_train(model=model, now=now)
    predictive_model_train(model=model, now=now)
    assert PredictiveModelVersion.objects.filter(model=model).count() == 2


def test_too_few_positives_is_a_status_not_a_crash(site, now):
    from tests.analytics.predictive.conftest import simulate

    simulate(site, n=60, now=now)
    model = predictive_model_create(site=site, name="p", goal_event="purchase")
    result = predictive_model_train(model=model, now=now)
    model.refresh_from_db()
    assert model.status == PredictiveStatus.NOT_ENOUGH_DATA
    assert model.status_detail.startswith("not enough data: ")
    assert f"positives, need {MIN_POSITIVES}" in model.status_detail
    assert result.version is None and not model.versions.exists()
    with pytest.raises(ValidationError):
        predictive_model_enable(model=model)  # never trained: cannot be enabled


def test_scores_become_traits_and_a_criterion_matches_alike_in_memory_and_sql(enabled, now):
    site = enabled.site
    field = Field.objects.get(site=site, path="profile.predicted.purchase_14d")
    assert field.type == "number" and field.label == "Predicted: purchase within 14 days"
    scores = [p.traits["predicted"]["purchase_14d"] for p in Profile.objects.filter(site=site)]
    assert len(scores) == 1500
    assert all(0 <= s <= 1 and round(s, 4) == s for s in scores)
    assert all(isinstance(p.traits["vip"], bool) for p in Profile.objects.filter(site=site))
    rule = compile_criteria(LIKELY_BUYERS, fields=site_field_catalog(site=site))
    in_memory = {
        p.user_id
        for p in Profile.objects.filter(site=site)
        if rule.matches(profile_document(p, events=[]))
    }
    in_sql = set(
        Profile.objects.filter(site=site).filter(rule.to_q()).values_list("user_id", flat=True)
    )
    expected = {
        p.user_id
        for p in Profile.objects.filter(site=site)
        if p.traits["predicted"]["purchase_14d"] >= 0.6
    }
    assert 0 < len(expected) < 1500
    assert in_memory == in_sql == expected
    segment = segment_create(
        site=site, key="likely-buyers", name="Likely buyers", criteria=LIKELY_BUYERS
    )
    assert segment_count(segment=segment) == len(expected)


def test_disabling_removes_scores_and_field(enabled):
    predictive_model_disable(model=enabled)
    assert not Field.objects.filter(path="profile.predicted.purchase_14d").exists()
    assert not Profile.objects.filter(traits__predicted__has_key="purchase_14d").exists()
    assert predictive_scores_write(model=enabled) == 0  # no longer updated


def test_a_disabled_field_used_by_a_segment_stays_marked_unavailable(enabled):
    segment_create(site=enabled.site, key="likely", name="Likely", criteria=LIKELY_BUYERS)
    predictive_model_disable(model=enabled)
    field = Field.objects.get(path="profile.predicted.purchase_14d")
    assert field.label.startswith("Unavailable")
    assert "likely" in field.help_text


def test_consent_withdrawn_loses_the_score(enabled, now):
    person = Profile.objects.filter(site=enabled.site).first()
    person.consent = False
    person.save()
    predictive_scores_write(model=enabled, now=now)
    person.refresh_from_db()
    assert "predicted" not in person.traits


def test_erasure_leaves_no_score(enabled):
    person = Profile.objects.filter(site=enabled.site).first()
    assert profile_erase(site_id=enabled.site_id, user_id=person.user_id) is not None
    assert not Profile.objects.filter(user_id=person.user_id).exists()
    # versions hold aggregates only: no id of a person anywhere
    for version in enabled.versions.all():
        text = repr((version.calibration, version.features, version.spec, version.params))
        assert person.user_id not in text


def test_clients_cannot_set_predicted(api_client, site, server_key, delivery_key):
    r = put(
        api_client,
        "/api/v1/profiles/u-1",
        {"traits": {"age": 30, "predicted": {"purchase_14d": 1.0}}},
        server_key,
    )
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["path"] == "traits.predicted"
    assert not Profile.objects.filter(user_id="u-1").exists()
    r = post(
        api_client,
        "/api/v1/decide",
        {"visitor": {"id": "v1"}, "profile": {"predicted": {"purchase_14d": 1}}},
        delivery_key,
    )
    assert r.status_code == 400
    assert r.json()["error"]["fields"][0]["path"] == "profile.predicted"


def test_scores_survive_client_trait_writes(enabled, api_client, server_key):
    person = Profile.objects.filter(site=enabled.site).first()
    score = person.traits["predicted"]["purchase_14d"]
    r = put(api_client, f"/api/v1/profiles/{person.user_id}", {"traits": {"age": 41}}, server_key)
    assert r.status_code == 200
    person.refresh_from_db()
    assert person.traits["age"] == 41
    assert person.traits["predicted"]["purchase_14d"] == score


def test_the_daily_task_trains_drafts_and_enabled_models(model, now):
    entry = settings.CELERY_BEAT_SCHEDULE["analytics-train-predictive-models"]
    assert entry["task"] == "analytics.train_predictive_models"
    rested = predictive_model_create(site=model.site, name="rested", goal_event="purchase")
    predictive_model_train(model=rested, now=now)  # trained, then left disabled
    assert train_predictive_models.delay().get() == 1  # one new version: the draft's
    model.refresh_from_db()
    assert model.status == PredictiveStatus.READY and model.versions.count() == 1
    assert rested.versions.count() == 1  # a disabled trained model is not retrained
    assert not PredictiveModel.objects.filter(enabled=True).exists()
