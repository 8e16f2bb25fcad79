"""Suggestion runs: start one (a Celery task runs it), run it, and save a suggestion as a
dynamic segment.

A run reads the value event's recency and frequency for every person (RFM, exact) and a
sample of profiles (clustering, at most `SAMPLE_SIZE`), and stores each suggestion with its
criteria tree and its size counted in SQL by the same compiled rule a saved segment
counts with: what the marketer sees is what they get.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypedDict

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.text import slugify

from analytics.suggestions import clusters, rfm
from analytics.suggestions.features import (
    default_value_event,
    load_population,
    recency_frequency,
    site_event_names,
)
from analytics.suggestions.models import SuggestionRun, SuggestionRunStatus
from analytics.suggestions.words import describe_facts, english_labels
from segments.criteria import Labels
from segments.models import Segment, SegmentStatus
from segments.selectors.catalog import site_field_catalog
from segments.selectors.definitions import criteria_compile
from segments.selectors.members import matching_profiles
from segments.services.segments import segment_create
from tenancy.models import Site

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 50_000
MIN_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 730
DEFAULT_WINDOW_DAYS = 90

# Under `make run` (no broker) the embedded scheduler's process turns this on: runs then go
# on a thread and the page shows their progress. Elsewhere without a broker (tests,
# one-off commands) they run eagerly, inside the request.
_run_on_threads = False


def suggestions_run_on_threads(*, enabled: bool) -> None:
    global _run_on_threads
    _run_on_threads = enabled


class Quality(TypedDict):
    cluster_size: int  # sampled people in the cluster
    precision: float  # of the sampled people the tree selects, the share in the cluster
    recall: float  # of the cluster, the share the tree selects


class Suggestion(TypedDict):
    kind: Literal["rfm", "cluster"]
    key: str
    name: str
    description: str
    facts: list[dict[str, Any]]
    criteria: dict[str, Any]
    size: int
    quality: Quality | None
    segment_id: int | None  # once saved


def suggestion_params_check(*, site_id: int, event: str, window_days: Any) -> dict[str, str]:
    """Errors by parameter ({} when fine): the window in whole days, a known event."""
    errors: dict[str, str] = {}
    if (
        not isinstance(window_days, int)
        or isinstance(window_days, bool)
        or not MIN_WINDOW_DAYS <= window_days <= MAX_WINDOW_DAYS
    ):
        errors["window_days"] = f"Choose a window of {MIN_WINDOW_DAYS} to {MAX_WINDOW_DAYS} days."
    if event not in {name for name, _ in site_event_names(site_id=site_id, limit=1000)}:
        errors["event"] = "The site has no event of that name."
    return errors


def suggestion_run_start(
    *,
    site: Site,
    event: str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    created_by: AbstractBaseUser | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> SuggestionRun:
    """Record a run and queue it (runs at once when there is no broker)."""
    event = event or default_value_event(site_id=site.pk) or ""
    errors = suggestion_params_check(site_id=site.pk, event=event, window_days=window_days)
    if errors:
        raise ValidationError(errors)
    user = created_by if created_by is not None and created_by.is_authenticated else None
    with transaction.atomic():
        run = SuggestionRun.objects.create(
            site=site,
            parameters={
                "event": event,
                "window_days": window_days,
                "sample_size": max(100, min(int(sample_size), SAMPLE_SIZE)),
            },
            created_by=user,
        )
        transaction.on_commit(lambda: _dispatch(run.pk))
    return run


def _dispatch(run_id: int) -> None:
    from django.conf import settings

    from analytics.tasks import suggest_segments

    if settings.CELERY_TASK_ALWAYS_EAGER and _run_on_threads:
        threading.Thread(
            target=_run_on_thread, args=(run_id,), name=f"suggestions-{run_id}", daemon=True
        ).start()
        return
    try:
        suggest_segments.delay(run_id)
    except Exception as exc:  # the broker's failure; eager runs record their own
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.exception("Could not queue suggestion run %s", run_id)
        SuggestionRun.objects.filter(pk=run_id).update(
            status=SuggestionRunStatus.FAILED,
            error=f"The run could not be queued ({type(exc).__name__}).",
            finished_at=timezone.now(),
        )


def _run_on_thread(run_id: int) -> None:
    try:
        suggestion_run_execute(run_id=run_id)
    finally:
        close_old_connections()
        connections.close_all()


def _phase(run: SuggestionRun, text: str) -> None:
    run.phase = text
    run.save(update_fields=["phase"])


def _members(
    site_id: int, tree: dict[str, Any], now: datetime, sample: set[int]
) -> tuple[int, set[int]]:
    """The tree's exact size in SQL, and which of the sampled profiles it selects."""
    rule = criteria_compile(site=site_id, tree=tree, now=now)
    size, selected = 0, set()
    for pk in (
        matching_profiles(site=site_id, rule=rule)
        .values_list("pk", flat=True)
        .iterator(chunk_size=5000)
    ):
        size += 1
        if pk in sample:
            selected.add(pk)
    return size, selected


def suggestion_run_execute(*, run_id: int) -> SuggestionRun | None:
    """Compute a run's suggestions (the Celery task's body). A failure is recorded on the run."""
    run = SuggestionRun.objects.select_related("site").filter(pk=run_id).first()
    if run is None or run.status != SuggestionRunStatus.PENDING:
        return run
    run.status = SuggestionRunStatus.RUNNING
    run.save(update_fields=["status"])
    try:
        run.suggestions = _compute(run)
        run.status = SuggestionRunStatus.DONE
        run.phase = ""
    except Exception as exc:
        logger.exception("Suggestion run %s failed", run.pk)
        run.status = SuggestionRunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
    run.finished_at = timezone.now()
    run.save()
    return run


def _compute(run: SuggestionRun) -> list[Suggestion]:
    site_id = run.site_id
    params = run.parameters
    event, window = str(params["event"]), int(params["window_days"])
    now = timezone.now()
    labels = english_labels(Labels.from_catalog(catalog=site_field_catalog(site=site_id)).fields)
    out: list[Suggestion] = []

    _phase(run, "Scoring recency and frequency")
    recency, frequency = recency_frequency(
        site_id=site_id, event=event, window_days=window, now=now
    )
    thresholds = rfm.rfm_thresholds(recency_days=recency, frequency=frequency, window_days=window)
    if thresholds is not None:
        run.parameters = {**params, "rfm": thresholds.__dict__, "rfm_people": len(recency)}
        for group in rfm.rfm_groups(event=event, t=thresholds):
            size, _ = _members(site_id, group.criteria, now, set())
            if size == 0:
                continue
            out.append(
                Suggestion(
                    kind="rfm",
                    key=group.key,
                    name=group.name,
                    description=group.description,
                    facts=[],
                    criteria=group.criteria,
                    size=size,
                    quality=None,
                    segment_id=None,
                )
            )

    _phase(run, "Clustering a sample of profiles")
    population = load_population(
        site_id=site_id,
        window_days=window,
        now=now,
        sample_size=int(params.get("sample_size", SAMPLE_SIZE)),
    )
    run.population = population.total
    model = clusters.choose_and_fit(population.x)
    if model is not None:
        run.parameters = {
            **run.parameters,
            "k": model.k,
            "silhouettes": {str(k): v for k, v in model.silhouettes.items()},
            "sampled": len(population.ids),
            "features": [s.name for s in population.specs],
        }
        sample = set(population.ids.tolist())
        for c in range(model.k):
            _phase(run, f"Describing cluster {c + 1} of {model.k}")
            member = model.labels == c
            bounds = clusters.best_leaf_bounds(population.x, member)
            conditions = clusters.bounds_to_conditions(bounds, population.specs)
            if not conditions:
                continue
            tree = {"all": conditions}
            size, selected = _members(site_id, tree, now, sample)
            in_cluster = set(population.ids[member].tolist())
            hit = len(selected & in_cluster)
            facts = clusters.cluster_facts(
                population.x, member, population.specs, categorical=population.categorical
            )
            out.append(
                Suggestion(
                    kind="cluster",
                    key=f"cluster-{c + 1}",
                    name=_cluster_name(c, facts, labels),
                    description=describe_facts(facts, labels),
                    facts=facts,
                    criteria=tree,
                    size=size,
                    quality=Quality(
                        cluster_size=len(in_cluster),
                        precision=round(hit / len(selected), 4) if selected else 0.0,
                        recall=round(hit / len(in_cluster), 4) if in_cluster else 0.0,
                    ),
                    segment_id=None,
                )
            )
    return out


def _cluster_name(index: int, facts: Sequence[dict[str, Any]], labels: Labels) -> str:
    """ "Cluster 2: frequent visitors" from the fact that sets the cluster apart most."""
    trait = "mixed behaviour"
    if facts:
        f = facts[0]
        up = float(f.get("cluster", 0)) >= float(f.get("overall", 0))
        kind = f.get("kind")
        if kind == "visits":
            trait = "frequent visitors" if up else "occasional visitors"
        elif kind == "recency":
            trait = "not seen lately" if up else "recently active"
        elif kind == "tenure":
            trait = "long-time visitors" if up else "newcomers"
        elif kind == "event":
            verb = "often" if up else "rarely"
            trait = f"{verb} “{f.get('event')}”"
        elif kind == "trait":
            trait = f"{'high' if up else 'low'} {labels.field(str(f.get('path'))).lower()}"
    return f"Cluster {index + 1}: {trait}"


def _unique_key(site_id: int, base: str) -> str:
    base = (slugify(base)[:90].strip("-_") or "suggested").lower()
    base = re.sub(r"[^a-z0-9_-]", "", base) or "suggested"
    key, n = base, 1
    while Segment.objects.filter(site_id=site_id, key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return key


def suggestion_save(
    *, run: SuggestionRun, index: int, created_by: AbstractBaseUser | None = None
) -> Segment:
    """Create a draft dynamic segment with the suggestion's criteria tree (validated by the
    segment service, under a key derived from the name and unique on the site)."""
    if run.status != SuggestionRunStatus.DONE or not 0 <= index < len(run.suggestions):
        raise ValidationError("No such suggestion.")
    s = run.suggestions[index]
    event = run.parameters.get("event", "")
    name = f"{s['name']} ({event})" if s["kind"] == "rfm" else s["name"]
    with transaction.atomic():
        segment = segment_create(
            site=run.site,
            key=_unique_key(
                run.site_id,
                f"suggested-{s['key']}-{event}" if s["kind"] == "rfm" else f"suggested-{s['name']}",
            ),
            name=name[:200],
            description=(
                f"{s['description']}\n\nSuggested on {run.created_at:%Y-%m-%d} "
                f"(suggestion run #{run.pk}): {s['size']} people then."
            ),
            criteria=s["criteria"],
            status=SegmentStatus.DRAFT,
            created_by=created_by,
        )
        run.suggestions[index] = {**s, "segment_id": segment.pk}
        run.save(update_fields=["suggestions"])
    return segment


def suggestion_sizes_now(*, run: SuggestionRun) -> list[int]:
    """Each suggestion's size counted again now (for tests and checks)."""
    now = timezone.now()
    return [_members(run.site_id, s["criteria"], now, set())[0] for s in run.suggestions]


__all__ = [
    "Suggestion",
    "suggestion_params_check",
    "suggestion_run_execute",
    "suggestion_run_start",
    "suggestion_save",
]
