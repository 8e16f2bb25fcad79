from celery import shared_task
from django.utils.dateparse import parse_datetime

from tenancy.models import ApiKey


@shared_task(ignore_result=True)
def api_key_mark_used(key_id: int, used_at: str) -> None:
    ApiKey.objects.filter(pk=key_id).update(last_used_at=parse_datetime(used_at))
