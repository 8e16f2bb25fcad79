"""manage.py rebuild_experiment_rollups --site demo [--experiment offers-free-checking]
[--phase 1] [--since 2026-10-01] [--until 2026-10-31]"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from experiments.models import Experiment
from experiments.services.rollups import experiment_rollups_rebuild
from tenancy.models import Site


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Recompute experiment rollups (cohorts of first exposure) from assignments and "
        "events: one experiment or all of a site's, one phase or all, a range of cohort "
        "days or all (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", required=True, help="The site's slug.")
        parser.add_argument("--experiment", help="The experiment's key (default: all).")
        parser.add_argument("--phase", type=int, help="One phase (default: every phase).")
        parser.add_argument("--since", type=_date, help="First cohort day (default: the first).")
        parser.add_argument("--until", type=_date, help="Last cohort day (default: the last).")

    def handle(
        self,
        *args,
        site: str,
        experiment: str | None,
        phase: int | None,
        since: date | None,
        until: date | None,
        **options,
    ) -> None:
        # call_command(since="…") passes strings past the parser's `type`.
        since = _date(since) if isinstance(since, str) else since
        until = _date(until) if isinstance(until, str) else until
        found = Site.objects.filter(slug=site).first()
        if found is None:
            raise CommandError(f"No site with slug {site!r}.")
        if since and until and since > until:
            raise CommandError("--since is after --until.")
        if phase is not None and phase < 1:
            raise CommandError("--phase is a phase number (1 or more).")
        experiments = Experiment.objects.filter(site=found).order_by("key")
        if experiment:
            experiments = experiments.filter(key=experiment)
            if not experiments.exists():
                raise CommandError(f"No experiment {experiment!r} on {found.slug}.")
        for exp in experiments:
            result = experiment_rollups_rebuild(
                experiment=exp, phase=phase, since=since, until=until
            )
            self.stdout.write(
                f"{found.slug}/{exp.key}: {result.cohorts} cohorts rebuilt, "
                f"{result.units} units, {result.excluded} excluded (seen in two arms)."
            )
