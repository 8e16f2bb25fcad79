"""Reads about experiments: which ones share a slot or a layer, and what to warn about."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from experiments.models import Experiment, ExperimentStatus, GlobalHoldout
from segments.criteria import CriteriaError
from segments.selectors.members import segment_count
from tenancy.models import Site

LIVE_STATUSES = (ExperimentStatus.RUNNING, ExperimentStatus.PAUSED)


def holdout_for_site(*, site: Site) -> GlobalHoldout:
    """The site's holdout row (an unsaved, disabled one when none is stored)."""
    return GlobalHoldout.objects.filter(site=site).first() or GlobalHoldout(site=site)


def experiments_for_site(*, site: Site) -> QuerySet[Experiment]:
    return (
        Experiment.objects.filter(site=site)
        .select_related("placement", "screen", "audience", "layer")
        .prefetch_related("arms", "metrics__metric")
    )


def experiments_on_slot(
    *, experiment: Experiment, statuses: tuple[str, ...] = (ExperimentStatus.RUNNING,)
) -> QuerySet[Experiment]:
    """The other experiments on the same placement or screen, in `statuses`."""
    slot = (
        Q(placement_id=experiment.placement_id)
        if experiment.placement_id
        else Q(screen_id=experiment.screen_id)
    )
    others = Experiment.objects.filter(slot, site_id=experiment.site_id, status__in=statuses)
    if experiment.pk:
        others = others.exclude(pk=experiment.pk)
    return others


def experiments_in_layer(*, experiment: Experiment) -> QuerySet[Experiment]:
    """The other non-stopped experiments of the experiment's layer (none without a layer)."""
    if not experiment.layer_id:
        return Experiment.objects.none()
    others = Experiment.objects.filter(layer_id=experiment.layer_id).exclude(
        status=ExperimentStatus.STOPPED
    )
    if experiment.pk:
        others = others.exclude(pk=experiment.pk)
    return others


def experiment_warnings(*, experiment: Experiment) -> list[str]:
    """What a marketer should know about a valid setup before relying on it."""
    warnings: list[str] = []
    if experiment.audience_id:
        try:
            members = segment_count(segment=experiment.audience)
        except CriteriaError:  # a broken audience is the segment's problem, shown there
            members = None
        if members == 0:
            warnings.append(
                f"The audience '{experiment.audience.key}' matches no stored profile: only "
                "anonymous visitors who match it in context will take part."
            )
    if experiment.status in LIVE_STATUSES:
        warnings.append(
            "This experiment is live: changing weights starts a new phase (results are "
            "computed per phase), and changing its audience changes who can take part."
        )
    if experiment.pk and not experiment.metrics.filter(role="primary").exists():
        warnings.append("No primary metric: the results page cannot recommend a decision.")
    return warnings
