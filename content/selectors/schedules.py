"""Publish schedules: those of one slot (for the admin) and those due to run now (for the beat
task that `content.services.publishing.publish_schedules_run_due` serves).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from content.models import PublishSchedule
from content.models.schedules import ScheduleStatus
from content.models.slots import Slot


def slot_schedules(*, slot: Slot) -> QuerySet[PublishSchedule]:
    return slot.schedules.select_related("created_by").order_by("-run_at")


def due_schedules(*, now: datetime) -> QuerySet[PublishSchedule]:
    return PublishSchedule.objects.filter(status=ScheduleStatus.PENDING, run_at__lte=now).order_by(
        "run_at", "pk"
    )
