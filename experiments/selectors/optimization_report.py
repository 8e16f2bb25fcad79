"""The optimization report: the policy's goal rate against the random holdout and the best
single variant, per period and cumulatively, which variant each kind of visitor gets, and
the model versions. The figures come from the pure `experiments.policy.report`, fed with
`logged_decisions`; this module only reads the database and names things (variant names,
the site's field-catalog labels, segment names)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from experiments.models import Optimization, PolicyVersion
from experiments.policy.compiled import CompiledPolicy
from experiments.policy.report import (
    LeafDescription,
    PolicyReport,
    ReportDecision,
    describe_leaves,
    policy_report,
)
from experiments.selectors.optimization import logged_decisions
from segments.models import Field, Segment


@dataclass(frozen=True)
class VersionRow:
    number: int
    status: str
    status_label: str
    trained_at: datetime
    decisions: int
    rewarded: int
    held_out: int
    leaves: int | None
    promoted: bool | None  # the gate's verdict (None: no gate figures stored)
    verdict: str  # the gate's sentence


@dataclass(frozen=True)
class OptimizationReport:
    optimization: Optimization
    report: PolicyReport
    arm_names: dict[str, str]
    leaves: list[LeafDescription]  # the live version's (empty: the uniform start)
    live_number: int  # 0: the uniform policy
    versions: list[VersionRow]
    pending: int  # decisions whose goal window is still open: not counted yet
    computed_at: datetime
    notes: list[str] = field(default_factory=list)


def arm_names(*, optimization: Optimization) -> dict[str, str]:
    """Arm key -> the name of the variant it serves."""
    names: dict[str, str] = {}
    for arm in optimization.arms.select_related("content_variant", "design_variant"):
        variant = arm.variant
        names[arm.key] = (variant.name or variant.key) if variant is not None else arm.key
    return names


def field_labels(*, site_id: int) -> dict[str, str]:
    return dict(Field.objects.filter(site_id=site_id).values_list("path", "label"))


def _segment_names(*, site_id: int, policy: CompiledPolicy) -> dict[str, str]:
    keys = [f.segment for f in policy.encoder.features if f.kind == "segment"]
    if not keys:
        return {}
    return dict(Segment.objects.filter(site_id=site_id, key__in=keys).values_list("key", "name"))


def live_leaves(
    *, optimization: Optimization, names: dict[str, str] | None = None
) -> list[LeafDescription]:
    """The live version's leaves in plain words (none while the uniform policy serves)."""
    version = optimization.live_version
    if version is None:
        return []
    policy = CompiledPolicy.from_json(version.policy)
    return describe_leaves(
        policy,
        labels=field_labels(site_id=optimization.site_id),
        segment_names=_segment_names(site_id=optimization.site_id, policy=policy),
        arm_names=names if names is not None else arm_names(optimization=optimization),
    )


def version_rows(*, optimization: Optimization) -> list[VersionRow]:
    rows: list[VersionRow] = []
    for v in PolicyVersion.objects.filter(optimization=optimization).order_by("-number"):
        quality: dict[str, Any] = v.quality or {}
        policy = v.policy or {}
        probabilities = policy.get("probabilities") if isinstance(policy, dict) else None
        promoted = quality.get("promote")
        rows.append(
            VersionRow(
                number=v.number,
                status=v.status,
                status_label=v.get_status_display(),
                trained_at=v.trained_at,
                decisions=v.decisions,
                rewarded=v.rewarded,
                held_out=v.held_out,
                leaves=len(probabilities) if isinstance(probabilities, list) else None,
                promoted=promoted if isinstance(promoted, bool) else None,
                verdict=str(quality.get("reason") or ""),
            )
        )
    return rows


def optimization_report(
    *, optimization: Optimization, now: datetime | None = None, alpha: float = 0.05
) -> OptimizationReport:
    """The report of every logged decision whose goal window has closed (a decision still
    inside it could yet convert: counting it as a miss would bias every rate down)."""
    now = now or timezone.now()
    logged = logged_decisions(optimization=optimization, now=now)
    matured = [d for d in logged if d.matured]
    names = arm_names(optimization=optimization)
    try:
        tz = zoneinfo.ZoneInfo(optimization.site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    report = policy_report(
        [
            ReportDecision(
                decided_at=d.decided_at,
                arm=d.arm_key,
                propensity=d.propensity,
                holdout=d.holdout,
                reward=d.reward,
            )
            for d in matured
        ],
        arms=list(names),
        alpha=alpha,
        tz=tz,
    )
    notes: list[str] = []
    if not report.overall.holdout.n and report.decisions:
        notes.append("No holdout decision yet: there is nothing random to compare the policy with.")
    return OptimizationReport(
        optimization=optimization,
        report=report,
        arm_names=names,
        leaves=live_leaves(optimization=optimization, names=names),
        live_number=optimization.live_version.number if optimization.live_version else 0,
        versions=version_rows(optimization=optimization),
        pending=len(logged) - len(matured),
        computed_at=now,
        notes=notes,
    )
