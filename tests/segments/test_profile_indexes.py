import importlib

import pytest
from django.db import connection

from segments.criteria import compile_criteria
from segments.models import Profile
from segments.sql import profile_index_sql

migration = importlib.import_module("segments.migrations.0005_profile_trait_indexes")
# 0006 rebuilt the number indexes when number fields started reading numeric text.
rebuilt = importlib.import_module("segments.migrations.0006_number_trait_indexes_read_text")
CURRENT = {i[0]: i for i in migration.INDEXES} | {i[0]: i for i in rebuilt.INDEXES}


def query_plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE segments_profile")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(("name", "field", "type_", "sql"), list(CURRENT.values()))
def test_frozen_index_ddl_matches_what_to_q_emits(name, field, type_, sql):
    assert profile_index_sql(name, field, type_) == sql


@pytest.mark.django_db
def test_postgresql_uses_the_trait_index_for_an_age_condition(site):
    if connection.vendor != "postgresql":
        pytest.skip("expression indexes are created on PostgreSQL only")
    Profile.objects.bulk_create(
        Profile(site=site, user_id=f"u{i}", traits={"age": i % 90 if i % 3 else str(i % 90)})
        for i in range(4000)
    )
    rule = compile_criteria({"all": [{"field": "profile.age", "op": "eq", "value": 27}]})
    queryset = Profile.objects.filter(site=site).filter(rule.to_q())
    plan = query_plan(queryset)
    assert "profile_trait_age" in plan, plan
    assert queryset.count() == len([i for i in range(4000) if i % 90 == 27])


@pytest.mark.django_db
def test_postgresql_uses_the_trait_index_for_a_city_condition(site):
    if connection.vendor != "postgresql":
        pytest.skip("expression indexes are created on PostgreSQL only")
    Profile.objects.bulk_create(
        Profile(site=site, user_id=f"u{i}", traits={"city": f"City {i % 200}"}) for i in range(4000)
    )
    rule = compile_criteria({"all": [{"field": "profile.city", "op": "eq", "value": "Detroit"}]})
    queryset = Profile.objects.filter(site=site).filter(rule.to_q())
    plan = query_plan(queryset)
    assert "profile_trait_city" in plan, plan


@pytest.mark.django_db
def test_postgresql_has_a_brin_index_serving_a_days_events(site):
    """The rollups' day rebuild reads a site's events of one day, any name or kind: the
    BRIN index on occurred_at is what serves it (the btrees all lead with name or kind)."""
    if connection.vendor != "postgresql":
        pytest.skip("BRIN indexes are created on PostgreSQL only")
    from datetime import UTC, datetime, timedelta

    from segments.models import Event

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'segments_event_occurred_brin'"
        )
        (definition,) = cursor.fetchone()
    assert "USING brin (occurred_at)" in definition
    start = datetime(2026, 1, 1, tzinfo=UTC)
    Event.objects.bulk_create(
        Event(
            site=site,
            visitor_id=f"v{i % 300}",
            name="view",
            occurred_at=start + timedelta(minutes=i),
        )
        for i in range(20000)
    )
    day = Event.objects.filter(
        site=site,
        occurred_at__gte=start + timedelta(days=5),
        occurred_at__lt=start + timedelta(days=6),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE segments_event")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: show it can serve
        sql, params = day.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "segments_event_occurred_brin" in plan, plan
    assert day.count() == 24 * 60
