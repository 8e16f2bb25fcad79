"""The results report as JSON: the dataclasses of `experiments.reports` as plain data (dates
and times in ISO 8601), plus `hidden` (the sample-ratio check hides the effects)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from experiments.reports import ExperimentReport


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def report_json(report: ExperimentReport) -> dict[str, Any]:
    data = _plain(asdict(report))
    data["analysis"]["hidden"] = report.analysis.hidden
    return data
