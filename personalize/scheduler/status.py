"""What the admin says about scheduled work: when a scheduler (the embedded one or
`celery beat`) last ran, and how many publish schedules are past due on the sites the user
may see. Exposed to admin templates as `scheduler_status` (a lazy context processor: no
query unless a page shows the banner)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, TypedDict

from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django_celery_beat.models import PeriodicTask

from content.models import PublishSchedule
from content.models.schedules import ScheduleStatus
from tenancy.models import SchedulerHeartbeat
from tenancy.selectors import site_ids_for_user

PAST_DUE_GRACE = timedelta(minutes=1)  # a schedule runs within a minute of its time
# No run for this long while the schedule asks for one a minute: the scheduler is down.
STALE_AFTER = timedelta(minutes=3)


class SchedulerStatus(TypedDict):
    last_run_at: datetime | None
    source: Literal["embedded scheduler", "celery beat", ""]
    stale: bool  # never ran, or not for STALE_AFTER
    past_due: int  # pending schedules older than PAST_DUE_GRACE, on the user's sites
    oldest_past_due: datetime | None


def scheduler_last_run() -> tuple[
    datetime | None, Literal["embedded scheduler", "celery beat", ""]
]:
    embedded = SchedulerHeartbeat.objects.aggregate(at=Max("last_run_at"))["at"]
    beat = PeriodicTask.objects.aggregate(at=Max("last_run_at"))["at"]
    if embedded is None and beat is None:
        return None, ""
    if beat is None or (embedded is not None and embedded >= beat):
        return embedded, "embedded scheduler"
    return beat, "celery beat"


def scheduler_status(*, site_ids: list[int] | None, now: datetime | None = None) -> SchedulerStatus:
    """`site_ids`: the sites whose schedules count (None: every site)."""
    now = now or timezone.now()
    last, source = scheduler_last_run()
    due = PublishSchedule.objects.filter(
        status=ScheduleStatus.PENDING, run_at__lt=now - PAST_DUE_GRACE
    )
    if site_ids is not None:
        due = due.filter(site_id__in=site_ids)
    oldest = due.order_by("run_at").values_list("run_at", flat=True).first()
    return {
        "last_run_at": last,
        "source": source,
        "stale": last is None or now - last > STALE_AFTER,
        "past_due": due.count(),
        "oldest_past_due": oldest,
    }


def scheduler_status_context(request: HttpRequest) -> dict[str, object]:
    """Context processor: `scheduler_status` for staff on admin pages (lazy)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}

    def compute() -> SchedulerStatus:
        site_ids = None if user.is_superuser else site_ids_for_user(user)
        return scheduler_status(site_ids=site_ids)

    return {"scheduler_status": SimpleLazyObject(compute)}
