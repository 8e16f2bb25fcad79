"""manage.py rebuild_rollups --site demo --since 2026-10-01 --until 2026-10-31"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max, Min
from django.utils import timezone

from analytics.services.rollups import rollups_rebuild
from segments.models import Event
from tenancy.models import Site


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Recompute a site's daily rollups over a range of days (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", required=True, help="The site's slug.")
        parser.add_argument("--since", type=_date, help="First day (default: the first event).")
        parser.add_argument("--until", type=_date, help="Last day (default: today).")

    def handle(self, *args, site: str, since: date | None, until: date | None, **options) -> None:
        # call_command(since="…") passes strings past the parser's `type`.
        since = _date(since) if isinstance(since, str) else since
        until = _date(until) if isinstance(until, str) else until
        found = Site.objects.filter(slug=site).first()
        if found is None:
            raise CommandError(f"No site with slug {site!r}.")
        span = Event.objects.filter(site=found).aggregate(
            first=Min("occurred_at"), last=Max("occurred_at")
        )
        today = timezone.now().date()
        since = since or (span["first"].date() if span["first"] else today)
        until = until or max(today, span["last"].date() if span["last"] else today)
        if since > until:
            raise CommandError("--since is after --until.")
        if (until - since) > timedelta(days=3660):
            raise CommandError("At most ten years at a time.")
        result = rollups_rebuild(site=found, since=since, until=until)
        self.stdout.write(
            f"{found.slug}: {result.days} days rebuilt ({since} to {until}): "
            f"{result.variant_rows} traffic rows, {result.metric_rows} metric rows."
        )
