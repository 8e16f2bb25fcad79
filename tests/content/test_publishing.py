from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content.models import AuditEntry, Placement, PlacementRevision
from content.models.audit import AuditAction
from content.models.schedules import ScheduleStatus
from content.selectors.configuration import draft_site_load, published_site_load
from content.selectors.revisions import revision_diff, slot_has_unpublished_changes
from content.services.drafts import (
    content_variant_create,
    content_variant_update,
    design_schema_update,
    placement_delete,
)
from content.services.publishing import (
    publish_schedule_cancel,
    slot_publish,
    slot_rollback,
    slot_schedule,
    slot_unpublish,
)
from content.tasks import BEAT_SCHEDULE, run_due_schedules
from segments.models import SegmentStatus
from tenancy.models import Site
from tests.content.factories import (
    ContentVariantFactory,
    PlacementFactory,
    ScreenFactory,
    ScreenVariantFactory,
    SegmentFactory,
    placement_with_variants,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def version(site):
    return Site.objects.get(pk=site.pk).config_version


def test_only_published_revisions_are_delivered(site):
    seg = SegmentFactory(site=site, key="vip")
    placement = placement_with_variants(site, targeted=[("vip-offer", seg, 10)])
    assert published_site_load(site_id=site.pk).placements == {}
    before = version(site)
    user = UserFactory()
    rev = slot_publish(slot=placement, user=user, note="first")
    assert rev.number == 1 and version(site) == before + 1
    live = published_site_load(site_id=site.pk)
    slot = live.placements["home_hero"]
    assert slot.revision == 1 and slot.default.key == "default"
    assert [v.key for v in slot.targeted] == ["vip-offer"]
    assert live.segment_keys == {"vip"}
    assert slot.default.payload == {"kind": "html", "body": "<p>Default</p>"}

    # Draft edits are not delivered until published again.
    variant = placement.variants.get(key="default")
    content_variant_update(variant=variant, data={"body": "<p>Changed</p>"})
    assert (
        published_site_load(site_id=site.pk).placements["home_hero"].default.payload["body"]
        == "<p>Default</p>"
    )
    assert slot_has_unpublished_changes(slot=placement)
    slot_publish(slot=placement, user=user)
    assert (
        published_site_load(site_id=site.pk).placements["home_hero"].default.payload["body"]
        == "<p>Changed</p>"
    )
    entry = AuditEntry.objects.filter(action=AuditAction.PUBLISH).first()
    assert entry.actor == user and entry.slot_key == "home_hero" and entry.revision_number == 2


def test_revisions_are_immutable(site):
    placement = placement_with_variants(site)
    rev = slot_publish(slot=placement)
    rev.note = "changed"
    with pytest.raises(ValidationError):
        rev.save()


def test_published_site_load_uses_constant_queries(site):
    for i in range(5):
        slot_publish(slot=placement_with_variants(site, key=f"p{i}"))
        screen = ScreenFactory(site=site)
        ScreenVariantFactory(screen=screen)
        slot_publish(slot=screen)
    with CaptureQueriesContext(connection) as ctx:
        live = published_site_load(site_id=site.pk)
    assert len(ctx.captured_queries) == 3
    assert len(live.placements) == 5 and len(live.screens) == 5


def test_draft_site_load_uses_constant_queries(site):
    def load_queries():
        with CaptureQueriesContext(connection) as ctx:
            draft, skipped = draft_site_load(site_id=site.pk)
        return len(ctx.captured_queries), draft, skipped

    segment = SegmentFactory(site=site, key="vip")
    placement_with_variants(site, key="p0", targeted=[("vip", segment, 10)])
    ScreenVariantFactory(screen=ScreenFactory(site=site))
    few, _, _ = load_queries()
    for i in range(1, 6):
        placement_with_variants(site, key=f"p{i}", targeted=[("vip", segment, 10)])
        ScreenVariantFactory(screen=ScreenFactory(site=site))
    PlacementFactory(site=site, key="no_default")
    many, draft, skipped = load_queries()
    assert many == few
    assert len(draft.placements) == 6 and len(draft.screens) == 6
    assert skipped == {"placement:no_default": "no default variant"}
    # The prefetched variants give the same slot as the snapshot publishing freezes.
    slot_publish(slot=Placement.objects.get(key="p3"))
    live = published_site_load(site_id=site.pk).placements["p3"]
    assert draft.placements["p3"].targeted == live.targeted
    assert draft.placements["p3"].default == live.default


def test_publish_needs_exactly_one_default(site):
    placement = PlacementFactory(site=site)
    ContentVariantFactory(placement=placement, segment=SegmentFactory(site=site))
    with pytest.raises(ValidationError) as exc:
        slot_publish(slot=placement)
    assert "variants" in exc.value.message_dict
    ContentVariantFactory(placement=placement)
    with pytest.raises(ValidationError):  # a second default is refused by the database constraint
        content_variant_create(placement=placement, key="another", name="x", body="x")


def test_unpublish_removes_from_delivery(site):
    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    before = version(site)
    slot_unpublish(slot=placement)
    assert published_site_load(site_id=site.pk).placements == {}
    assert version(site) == before + 1
    assert AuditEntry.objects.filter(action=AuditAction.UNPUBLISH, revision_number=1).exists()


def test_rollback_restores_with_diff(site):
    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    variant = placement.variants.get(key="default")
    content_variant_update(variant=variant, data={"body": "<p>Version two</p>"})
    slot_publish(slot=placement)
    first = PlacementRevision.objects.get(placement=placement, number=1)
    diff = revision_diff(revision=first, against="live")
    assert "-" in diff and "<p>Default</p>" in diff and "<p>Version two</p>" in diff
    before = version(site)
    user = UserFactory()
    rev = slot_rollback(slot=placement, revision=1, user=user)
    assert rev.number == 3 and rev.restored_from == 1
    assert version(site) == before + 1
    assert (
        published_site_load(site_id=site.pk).placements["home_hero"].default.payload["body"]
        == "<p>Default</p>"
    )
    assert placement.variants.get(key="default").body == "<p>Default</p>"
    assert revision_diff(revision=first, against="draft") == ""
    entry = AuditEntry.objects.get(action=AuditAction.ROLLBACK)
    assert entry.actor == user and entry.details["restored_from"] == 1


def test_scheduled_publish_and_unpublish_with_time_control(site):
    placement = placement_with_variants(site)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    user = UserFactory()
    publish = slot_schedule(
        slot=placement, action="publish", run_at=now + timedelta(hours=1), user=user, now=now
    )
    unpublish = slot_schedule(
        slot=placement, action="unpublish", run_at=now + timedelta(hours=3), user=user, now=now
    )
    # Edits after scheduling do not change what the schedule publishes (the draft was frozen).
    content_variant_update(variant=placement.variants.get(key="default"), data={"body": "later"})
    assert AuditEntry.objects.filter(action=AuditAction.SCHEDULE).count() == 2

    assert run_due_schedules((now + timedelta(minutes=30)).isoformat()) == 0
    assert published_site_load(site_id=site.pk).placements == {}

    assert run_due_schedules((now + timedelta(hours=1)).isoformat()) == 1
    publish.refresh_from_db()
    assert publish.status == ScheduleStatus.DONE
    live = published_site_load(site_id=site.pk).placements["home_hero"]
    assert live.default.payload["body"] == "<p>Default</p>"

    assert run_due_schedules((now + timedelta(hours=4)).isoformat()) == 1
    unpublish.refresh_from_db()
    assert unpublish.status == ScheduleStatus.DONE
    assert published_site_load(site_id=site.pk).placements == {}
    assert run_due_schedules((now + timedelta(hours=5)).isoformat()) == 0
    assert BEAT_SCHEDULE["content-run-due-schedules"]["task"] == "content.run_due_schedules"


def test_schedule_validation_and_cancel(site):
    placement = placement_with_variants(site)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        slot_schedule(slot=placement, action="publish", run_at=now - timedelta(minutes=1), now=now)
    schedule = slot_schedule(
        slot=placement, action="publish", run_at=now + timedelta(hours=1), now=now
    )
    publish_schedule_cancel(schedule=schedule)
    assert run_due_schedules((now + timedelta(hours=2)).isoformat()) == 0
    assert AuditEntry.objects.filter(action=AuditAction.SCHEDULE_CANCEL).count() == 1


def test_screen_publish_and_design_payload(site):
    seg = SegmentFactory(site=site, key="rainy")
    screen = ScreenFactory(site=site, key="home")
    ScreenVariantFactory(screen=screen, key="default")
    ScreenVariantFactory(screen=screen, key="rain", segment=seg, priority=1)
    slot_publish(slot=screen)
    live = published_site_load(site_id=site.pk).screens["home"]
    assert live.kind == "screen" and live.targeted[0].segment_key == "rainy"
    assert "root" in live.default.payload["design"]


def test_variant_targeting_inactive_segment_is_published_but_keyed(site):
    seg = SegmentFactory(site=site, key="old", status=SegmentStatus.ARCHIVED)
    placement = placement_with_variants(site, targeted=[("old-offer", seg, 1)])
    slot_publish(slot=placement)
    assert published_site_load(site_id=site.pk).segment_keys == {"old"}


def test_deleting_live_placement_bumps_version(site):
    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    before = version(site)
    user = UserFactory()
    placement_delete(placement=placement, user=user)
    assert version(site) == before + 1
    assert published_site_load(site_id=site.pk).placements == {}
    entry = AuditEntry.objects.get(action=AuditAction.DELETE)
    assert (entry.site_id, entry.actor, entry.slot_kind, entry.slot_key) == (
        site.pk,
        user,
        "placement",
        "home_hero",
    )
    assert entry.placement_id is None and entry.details == {"name": "home_hero"}
    assert entry.revision_number is None


def test_new_sites_get_the_default_design_schema(db):
    from content.models import DesignSchema
    from content.schemas import DEFAULT_DESIGN_SCHEMA
    from tenancy.services import site_create

    site = site_create(name="Gamma", slug="gamma")
    assert DesignSchema.objects.get(site=site).schema == DEFAULT_DESIGN_SCHEMA


def test_design_schema_change_is_refused_when_designs_break(site):
    from content.models import DesignSchema

    ScreenVariantFactory(screen=ScreenFactory(site=site))
    strict = {"type": "object", "required": ["root", "theme"]}
    with pytest.raises(ValidationError) as exc:
        design_schema_update(site=site, schema=strict)
    assert "theme" in str(exc.value)
    assert not DesignSchema.objects.filter(site=site).exists()
    with pytest.raises(ValidationError):
        design_schema_update(site=site, schema={"type": 5})


def test_publishing_status_reuses_the_loaded_live_revision(site):
    from django.contrib.admin.sites import site as admin_site

    placement = placement_with_variants(site)
    slot_publish(slot=placement)
    content_variant_update(variant=placement.variants.get(key="default"), data={"name": "Changed"})
    obj = Placement.objects.select_related("live_revision").get(pk=placement.pk)
    with CaptureQueriesContext(connection) as ctx:
        status = admin_site._registry[Placement].publishing_status(obj)
    assert status.startswith("Live: revision 1 (") and "unpublished changes" in status
    assert len(ctx.captured_queries) == 2  # the draft's variants and translations, to compare
    rev = PlacementRevision.objects.get(placement=placement, number=1)
    assert '"name": "Changed"' in revision_diff(revision=rev, against="draft")
    assert revision_diff(revision=rev, against="live") == ""
