"""Demo data: one suggestion run over the demo population, so the page is not empty."""

from __future__ import annotations

from typing import TextIO

from analytics.suggestions.models import SuggestionRun
from analytics.suggestions.services import suggestion_run_start
from tenancy.models import Site


def seed(site: Site, *, stdout: TextIO | None = None) -> None:
    """Start a run with the default value event once (a few seconds on the demo's people;
    queued like any run, so with a broker a worker does it)."""
    if SuggestionRun.objects.filter(site=site).exists():
        return
    run = suggestion_run_start(site=site)
    if stdout:
        stdout.write(f"  Segment suggestions: run #{run.pk} ({run.parameters['event']})\n")
