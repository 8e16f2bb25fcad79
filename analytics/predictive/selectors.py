"""What the admin and the API show of a model's versions: quality beside the baseline and
the calibration chart's data (for json_script)."""

from __future__ import annotations

from typing import Any

from analytics.models import PredictiveModel

MAX_VERSIONS_SHOWN = 20


def calibration_chart(*, calibration: list[dict[str, Any]]) -> dict[str, Any]:
    """Chart.js-ready data: observed vs predicted per bin, and the diagonal (perfect)."""
    points = [{"x": b["predicted"], "y": b["observed"], "count": b["count"]} for b in calibration]
    top = max([1e-9, *(max(p["x"], p["y"]) for p in points)])
    return {"points": points, "diagonal": [{"x": 0, "y": 0}, {"x": top, "y": top}]}


def version_rows(*, model: PredictiveModel) -> list[dict[str, Any]]:
    rows = []
    for version in model.versions.order_by("-trained_at", "-pk")[:MAX_VERSIONS_SHOWN]:
        lift = None
        if version.auc is not None and version.baseline_auc is not None:
            lift = round(version.auc - version.baseline_auc, 4)
        rows.append(
            {
                "id": version.pk,
                "version": version,
                "lift": lift,
                "chart_id": f"calibration-{version.pk}",
                "chart": calibration_chart(calibration=version.calibration),
            }
        )
    return rows
