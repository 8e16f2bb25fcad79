"""Property: behavioural counters answer event conditions exactly.

Random event conditions (names, property filters, count tests, windows) and random events
for one person (late and out of order, resent with the same id, some stored before the
counter existed and backfilled, some after), ingested through the real ingest service.
Then the counter-based evaluation (what decide does) equals a brute-force scan of all the
person's stored events in memory, and equals the SQL count (`rule.to_q()`); with inline
events (sent with a decide) added, counters plus inline equals the scan of both.
Runs on SQLite, and on PostgreSQL when DATABASE_URL says so (CI).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.services import events_ingest
from delivery.validation import validate_events
from segments.criteria import compile_criteria
from segments.criteria.counters import specs_of_rules
from segments.documents import profile_document
from segments.models import CounterSpec, CounterState, Event, Profile
from segments.services.counters import counter_backfill
from tests.segments.test_property_sql_agreement import event_nodes

NOW = datetime(2026, 11, 22, 12, 0, 0, 250000, tzinfo=UTC)
USER = "u-prop"

moments = st.integers(min_value=-120 * 86400, max_value=86000).map(
    lambda s: NOW + timedelta(seconds=s, microseconds=(s * 7919) % 1000000)
)
properties = st.fixed_dictionaries(
    {},
    optional={
        "price": st.sampled_from([0, 1, -3, 20, 25.5, 27, 30, 49.99, "27", "abc", True]),
        "category": st.sampled_from(["Detroit", "detroit", "x", "", "école", 3]),
        "gift": st.sampled_from([True, False, "true"]),
    },
)
raw_events = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["purchase", "view", "Purchase"]),
            "properties": properties,
            "timestamp": moments.map(lambda m: m.isoformat()),
        }
    ),
    max_size=14,
)
trees = st.builds(
    lambda kind, nodes: {kind: nodes},
    st.sampled_from(["all", "any", "none"]),
    st.lists(event_nodes(), min_size=1, max_size=3),
)


@st.composite
def deliveries(draw):
    """The events with ids, cut into batches sent in a random order, some resent (the same
    id, sometimes with other content: the first one stored wins), and where the counter
    spec appears: before `spec_at` batches it does not exist yet (backfilled later)."""
    events = [{**e, "id": f"e{i}"} for i, e in enumerate(draw(raw_events))]
    order = draw(st.permutations(events))
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=3)))
    batches, start = [], 0
    for cut in [*cuts, len(order)]:
        if order[start:cut]:
            batches.append(order[start:cut])
        start = cut
    resent = []
    for batch in batches:
        if draw(st.booleans()):
            e = draw(st.sampled_from(batch))
            if draw(st.booleans()):
                e = {**draw(raw_events.filter(bool))[0], "id": e["id"]}
            resent.append([e])
    batches = batches + resent
    spec_at = draw(st.integers(0, len(batches)))
    backfill_at = draw(st.integers(spec_at, len(batches)))
    return batches, spec_at, backfill_at


def _ingest(site, batch):
    body = {"visitor": {"id": "anon-prop", "user_id": USER}, "events": batch}
    events_ingest(site_id=site.pk, batch=validate_events(body, now=NOW), caller="server")


def _doc(events, counters=None):
    doc = {
        "visitor": {"id": USER, "user_id": USER, "is_known": True},
        "profile": {},
        "context": {},
        "events": events,
    }
    if counters is not None:
        doc["counters"] = counters
    return doc


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=trees, plan=deliveries(), inline=raw_events)
def test_counters_equal_a_scan_and_sql(site, tree, plan, inline):
    batches, spec_at, backfill_at = plan
    Profile.objects.filter(site=site).delete()
    Event.objects.filter(site=site).delete()
    CounterSpec.objects.filter(site=site).delete()
    rule = compile_criteria(tree, now=NOW)
    specs = specs_of_rules([rule])
    for i, batch in enumerate(batches):
        if i == spec_at:
            CounterSpec.objects.bulk_create(
                CounterSpec(site=site, key=k, definition=s.definition) for k, s in specs.items()
            )
        if i == backfill_at:
            for spec in CounterSpec.objects.filter(site=site):
                counter_backfill(spec_id=spec.pk, batch=1)
        _ingest(site, batch)
    if spec_at >= len(batches):
        CounterSpec.objects.bulk_create(
            CounterSpec(site=site, key=k, definition=s.definition) for k, s in specs.items()
        )
    for spec in CounterSpec.objects.filter(site=site):
        counter_backfill(spec_id=spec.pk, batch=1)
    assert set(
        CounterSpec.objects.filter(site=site, state=CounterState.READY).values_list(
            "key", flat=True
        )
    ) == set(specs)

    profile = Profile.objects.get(site=site, user_id=USER) if batches else None
    if profile is None:
        return
    stored = profile_document(profile)["events"]
    counters = {"specs": {k: profile.counters.get(k, []) for k in specs}, "inline": 0}
    by_counters = rule.matches(_doc([], counters))
    by_scan = rule.matches(_doc(stored))
    in_sql = Profile.objects.filter(pk=profile.pk).filter(rule.to_q()).exists()
    assert by_counters == by_scan == in_sql, (tree, stored, profile.counters)
    # Every kept list is at most `keep` long, newest first.
    for key, stamps in profile.counters.items():
        assert stamps == sorted(stamps, reverse=True)
        assert len(stamps) <= specs[key].keep

    # Inline events sent with a decide count on top of the counters.
    with_inline = {**counters, "inline": len(inline)}
    assert rule.matches(_doc(list(inline), with_inline)) == rule.matches(
        _doc([*inline, *stored])
    ), (tree, inline, stored)
    assert rule.explain(_doc(list(inline), with_inline))["passed"] == rule.matches(
        _doc([*inline, *stored])
    )
