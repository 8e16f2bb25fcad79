"""Predictive models: definition checks, training on a time split, writing scores to profiles
and keeping `profile.predicted.<name>` in the site's field catalog (docs/predictive.md).

The time split: training examples at T1 = now - 2 x horizon (features up to T1, label in
(T1, T1 + horizon]), held-out examples at T2 = now - horizon (label in (T2, now]). The model
fitted at T1 is judged at T2 beside the recency-frequency baseline, stored as a version, and
is the one that scores everybody with their features as of now.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.metrics import MetricError
from analytics.models import (
    Metric,
    MetricKind,
    PredictiveModel,
    PredictiveModelVersion,
    PredictiveStatus,
)
from analytics.predictive import PREDICTED_TRAITS_KEY, learn
from analytics.predictive.dataset import (
    Goal,
    baseline_columns,
    example_chunks,
    examples,
    feature_spec_build,
    profiles_as_of,
)
from analytics.predictive.features import feature_names
from analytics.selectors.metrics import metric_definition
from segments.models import Field, FieldType, Profile
from segments.services.fields import field_create, field_delete, field_update, segments_using_field
from tenancy.models import Site
from tenancy.services import site_config_bump

logger = logging.getLogger(__name__)

MIN_POSITIVES = 50  # of each class, in the training set
MAX_HORIZON_DAYS = 180
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
SCORE_DECIMALS = 4
SCORE_CHUNK = 1000


# --- definition -------------------------------------------------------------------------------


def predictive_model_errors(*, model: PredictiveModel) -> dict[str, str]:
    """Every problem of the model's definition, by field; {} when it is valid."""
    errors: dict[str, str] = {}
    if not NAME_PATTERN.match(model.name or ""):
        errors["name"] = (
            "Lowercase letters, digits and _, starting with a letter (it becomes "
            "profile.predicted.<name>)."
        )
    horizon = model.horizon_days
    if horizon is None or not 1 <= horizon <= MAX_HORIZON_DAYS:
        errors["horizon_days"] = f"A whole number of days from 1 to {MAX_HORIZON_DAYS}."
    metric: Metric | None = model.goal_metric if model.goal_metric_id else None
    if metric is not None and model.goal_event:
        errors["goal_event"] = "Choose a goal metric or an event name, not both."
    elif metric is not None:
        if metric.site_id != model.site_id:
            errors["goal_metric"] = "Must be a metric of the same site."
        elif metric.kind != MetricKind.CONVERSION:
            errors["goal_metric"] = "Must be a conversion metric."
    elif not model.goal_event and not model.churn:
        errors["goal_event"] = (
            "Choose a goal metric or an event name (only churn may leave both empty: "
            "no event of any kind)."
        )
    if len(model.goal_event or "") > 100:
        errors["goal_event"] = "At most 100 characters."
    return errors


def goal_of(*, model: PredictiveModel) -> Goal:
    if model.goal_metric_id:
        spec = metric_definition(metric=model.goal_metric)
        return Goal(event=spec.event, where=spec.where, churn=model.churn)  # type: ignore[union-attr]
    return Goal(event=model.goal_event or None, churn=model.churn)


def default_label(*, model: PredictiveModel) -> str:
    goal = model.goal_metric.name if model.goal_metric_id else model.goal_event
    days = model.horizon_days
    if model.churn:
        return f"no {goal or 'visit'} within {days} days"
    return f"{goal} within {days} days"


def predictive_model_create(
    *,
    site: Site,
    name: str,
    goal_metric: Metric | None = None,
    goal_event: str = "",
    churn: bool = False,
    horizon_days: int = 14,
    label: str = "",
) -> PredictiveModel:
    """A new draft model (trained by the next scheduled run or "Train now")."""
    model = PredictiveModel(
        site=site,
        name=name,
        goal_metric=goal_metric,
        goal_event=goal_event,
        churn=churn,
        horizon_days=horizon_days,
        label=label,
    )
    model.full_clean()
    model.save()
    return model


# --- training ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainResult:
    model_id: int
    status: str
    detail: str
    version: PredictiveModelVersion | None = None


def _status(model: PredictiveModel, status: str, detail: str) -> None:
    model.status = status
    model.status_detail = detail[:500]
    model.save(update_fields=["status", "status_detail", "updated_at"])


def predictive_model_train(
    *, model: PredictiveModel, now: datetime | None = None, min_positives: int = MIN_POSITIVES
) -> TrainResult:
    """Train on the time split, judge on the held-out set, store a version.

    Too few positives (or negatives) in the training set is a status, not an error."""
    started = time.monotonic()
    now = now or timezone.now()
    horizon = timedelta(days=model.horizon_days)
    train_cutoff = now - 2 * horizon
    test_cutoff = now - horizon
    try:
        goal = goal_of(model=model)
    except MetricError as exc:
        detail = f"the goal metric is invalid: {exc}"
        _status(model, PredictiveStatus.FAILED, detail)
        return TrainResult(model.pk, PredictiveStatus.FAILED, detail)
    spec = feature_spec_build(site_id=model.site_id, cutoff=train_cutoff, goal=goal)
    names = feature_names(spec)
    _, x_train, y_train = examples(
        site_id=model.site_id, cutoff=train_cutoff, spec=spec, goal=goal, label_until=test_cutoff
    )
    positives = int(y_train.sum())
    negatives = int(y_train.size - positives)
    if positives < min_positives or negatives < min_positives:
        which, count = (
            ("positives", positives)
            if positives < min_positives
            else (
                "negatives",
                negatives,
            )
        )
        detail = (
            f"not enough data: {count} {which}, need {min_positives} "
            f"(training examples at {train_cutoff:%Y-%m-%d}: {y_train.size})"
        )
        _status(model, PredictiveStatus.NOT_ENOUGH_DATA, detail)
        return TrainResult(model.pk, PredictiveStatus.NOT_ENOUGH_DATA, detail)
    params = learn.fit(x_train, y_train, features=names)
    _, x_test, y_test = examples(
        site_id=model.site_id, cutoff=test_cutoff, spec=spec, goal=goal, label_until=now
    )
    auc = baseline = None
    calibration: list[learn.CalibrationBin] = []
    if y_test.size:
        predicted = learn.predict(params, x_test)
        recency, frequency = baseline_columns(spec=spec, goal=goal)
        auc = learn.auc(y_test, predicted)
        baseline = learn.auc(
            y_test,
            learn.baseline_scores(
                x_test, features=names, recency=recency, frequency=frequency, churn=goal.churn
            ),
        )
        calibration = learn.calibration(y_test, predicted)
    version = PredictiveModelVersion.objects.create(
        model=model,
        trained_at=now,
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
        horizon_days=model.horizon_days,
        train_size=int(y_train.size),
        test_size=int(y_test.size),
        train_positives=positives,
        test_positives=int(y_test.sum()),
        auc=None if auc is None else round(auc, 4),
        baseline_auc=None if baseline is None else round(baseline, 4),
        calibration=calibration,
        features=names,
        spec=dict(spec),
        params=dict(params),
        seconds=round(time.monotonic() - started, 3),
    )
    auc_text = "n/a" if auc is None else f"{auc:.3f}"
    base_text = "n/a" if baseline is None else f"{baseline:.3f}"
    detail = f"held-out AUC {auc_text} (baseline {base_text}) on {y_test.size} people"
    _status(model, PredictiveStatus.READY, detail)
    return TrainResult(model.pk, PredictiveStatus.READY, detail, version)


def latest_version(*, model: PredictiveModel) -> PredictiveModelVersion | None:
    return model.versions.order_by("-trained_at", "-pk").first()


# --- scores on profiles -----------------------------------------------------------------------


def _set_scores(*, site_id: int, name: str, scores: dict[int, float | None]) -> None:
    """Set (or with None remove) `traits.predicted.<name>` of these profiles. Rows are locked
    as the profiles API locks them, so a concurrent trait write is never lost."""
    with transaction.atomic():
        profiles = list(
            Profile.objects.select_for_update()
            .filter(site_id=site_id, pk__in=list(scores))
            .only("pk", "traits")
        )
        changed = []
        for profile in profiles:
            traits = dict(profile.traits) if isinstance(profile.traits, dict) else {}
            predicted = traits.get(PREDICTED_TRAITS_KEY)
            predicted = dict(predicted) if isinstance(predicted, dict) else {}
            score = scores[profile.pk]
            if score is None:
                if name not in predicted:
                    continue
                predicted.pop(name)
            else:
                predicted[name] = score
            if predicted:
                traits[PREDICTED_TRAITS_KEY] = predicted
            else:
                traits.pop(PREDICTED_TRAITS_KEY, None)
            profile.traits = traits
            changed.append(profile)
        Profile.objects.bulk_update(changed, ["traits"], batch_size=SCORE_CHUNK)


def predictive_scores_write(*, model: PredictiveModel, now: datetime | None = None) -> int:
    """Score everybody with their features as of now using the latest version; returns how
    many profiles were scored. People who withdrew consent lose their score instead."""
    version = latest_version(model=model)
    if version is None or not model.enabled:
        return 0
    now = now or timezone.now()
    goal = goal_of(model=model)
    scored = 0
    for part in example_chunks(
        site_id=model.site_id, cutoff=now, spec=version.spec, goal=goal, chunk=SCORE_CHUNK
    ):
        probabilities = learn.predict(version.params, part.x)
        _set_scores(
            site_id=model.site_id,
            name=model.name,
            scores={
                pk: round(float(p), SCORE_DECIMALS)
                for pk, p in zip(part.profile_ids, probabilities, strict=True)
            },
        )
        scored += len(part.profile_ids)
    stale = profiles_as_of(site_id=model.site_id, cutoff=now).values("pk")
    predictive_scores_clear(model=model, exclude=stale)
    model.scored_at = now
    model.scored_profiles = scored
    model.save(update_fields=["scored_at", "scored_profiles"])
    return scored


def predictive_scores_clear(*, model: PredictiveModel, exclude: Any = None) -> int:
    """Remove the model's score from every profile of its site (but `exclude`)."""
    holders = Profile.objects.filter(
        site_id=model.site_id, **{f"traits__{PREDICTED_TRAITS_KEY}__has_key": model.name}
    )
    if exclude is not None:
        holders = holders.exclude(pk__in=exclude)
    ids = list(holders.values_list("pk", flat=True))
    for start in range(0, len(ids), SCORE_CHUNK):
        _set_scores(
            site_id=model.site_id,
            name=model.name,
            scores=dict.fromkeys(ids[start : start + SCORE_CHUNK]),
        )
    return len(ids)


# --- the field catalog -------------------------------------------------------------------------


def field_path(*, model: PredictiveModel) -> str:
    return f"profile.{PREDICTED_TRAITS_KEY}.{model.name}"


def _field_texts(model: PredictiveModel) -> tuple[str, str]:
    label = f"Predicted: {model.label or default_label(model=model)}"[:120]
    help_text = (
        f"Probability from 0 to 1 (predictive model {model.name!r}), refreshed when the "
        "model is trained."
    )
    return label, help_text


def predictive_field_register(*, model: PredictiveModel) -> Field:
    """Offer `profile.predicted.<name>` (a number 0..1) to the site's segments."""
    path = field_path(model=model)
    label, help_text = _field_texts(model)
    field = Field.objects.filter(site_id=model.site_id, path=path).first()
    if field is None:
        return field_create(
            site=model.site, path=path, type=FieldType.NUMBER, label=label, help_text=help_text
        )
    return field_update(field=field, type=FieldType.NUMBER, label=label, help_text=help_text)


def predictive_field_unregister(*, model: PredictiveModel) -> None:
    """Remove the field; while segments still use it, keep it marked unavailable."""
    field = Field.objects.filter(site_id=model.site_id, path=field_path(model=model)).first()
    if field is None:
        return
    users = segments_using_field(field=field)
    if not users:
        field_delete(field=field)
        return
    field.label = f"Unavailable: {model.name} (model disabled)"[:120]
    field.help_text = (
        f"The predictive model {model.name!r} is disabled: profiles have no score, so "
        f"conditions on it match nobody. Used by: {', '.join(users[:10])}."
    )[:500]
    field.save(update_fields=["label", "help_text"])
    site_config_bump(site_id=model.site_id)


# --- enabling ----------------------------------------------------------------------------------


def predictive_model_enable(*, model: PredictiveModel) -> PredictiveModel:
    """Enable a trained model: register its field (scores follow, see tasks)."""
    if latest_version(model=model) is None:
        raise ValidationError({"enabled": "Train the model at least once before enabling it."})
    with transaction.atomic():
        model.enabled = True
        model.save(update_fields=["enabled", "updated_at"])
        predictive_field_register(model=model)
    return model


def predictive_model_disable(*, model: PredictiveModel) -> PredictiveModel:
    """Stop scoring: the scores leave the profiles and the field leaves the catalog."""
    with transaction.atomic():
        model.enabled = False
        model.save(update_fields=["enabled", "updated_at"])
        predictive_field_unregister(model=model)
    predictive_scores_clear(model=model)
    return model


def predictive_model_delete(*, model: PredictiveModel) -> None:
    if model.enabled:
        predictive_model_disable(model=model)
    model.delete()


# --- the schedule ------------------------------------------------------------------------------


def models_to_train() -> Any:
    """Enabled models, and drafts never trained yet (a disabled trained model rests)."""
    return PredictiveModel.objects.filter(enabled=True) | PredictiveModel.objects.filter(
        status=PredictiveStatus.DRAFT
    )


def predictive_train_all(*, now: datetime | None = None) -> list[TrainResult]:
    """Train every enabled-or-draft model of every site, then refresh enabled ones' scores.
    One model failing never stops the others."""
    results = []
    for model in models_to_train().select_related("goal_metric", "site").order_by("pk"):
        try:
            result = predictive_model_train(model=model, now=now)
            if model.enabled:
                predictive_scores_write(model=model, now=now)
        except Exception as exc:
            logger.exception("Training predictive model %s failed", model.pk)
            _status(model, PredictiveStatus.FAILED, f"training failed: {exc!r}")
            result = TrainResult(model.pk, PredictiveStatus.FAILED, repr(exc))
        results.append(result)
    return results
