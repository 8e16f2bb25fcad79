"""What a site delivers: its configuration built from live revisions only (what delivery keeps
in memory), or from the drafts as if they were all published now (for previews), as the plain
data of `content.published`.
"""

from __future__ import annotations

from django.db.models import F

from content.models import Placement, PlacementRevision, Screen, ScreenRevision
from content.models.slots import SlotKind
from content.published import PublishedSite, PublishedSlot, site_from_slots, slot_from_snapshot
from content.selectors.revisions import slot_snapshot
from tenancy.models import Site


def published_site_load(*, site_id: int) -> PublishedSite:
    """The site's delivered configuration, from live revisions only. Three queries."""
    version, default_language = Site.objects.values_list("config_version", "default_language").get(
        pk=site_id
    )
    placements = [
        slot_from_snapshot(snapshot, SlotKind.PLACEMENT, number)
        for snapshot, number in PlacementRevision.objects.filter(
            placement__site_id=site_id, placement__live_revision=F("pk")
        ).values_list("snapshot", "number")
    ]
    screens = [
        slot_from_snapshot(snapshot, SlotKind.SCREEN, number)
        for snapshot, number in ScreenRevision.objects.filter(
            screen__site_id=site_id, screen__live_revision=F("pk")
        ).values_list("snapshot", "number")
    ]
    return site_from_slots(
        site_id=site_id,
        version=version,
        placements=placements,
        screens=screens,
        default_language=default_language,
    )


def draft_site_load(*, site_id: int) -> tuple[PublishedSite, dict[str, str]]:
    """The drafts as if they were all published now (for previews), and slots skipped with why."""
    version, default_language = Site.objects.values_list("config_version", "default_language").get(
        pk=site_id
    )
    skipped: dict[str, str] = {}
    built: dict[str, list[PublishedSlot]] = {"placement": [], "screen": []}
    for model, kind in ((Placement, SlotKind.PLACEMENT), (Screen, SlotKind.SCREEN)):
        slots = model.objects.filter(site_id=site_id).prefetch_related(
            "variants__segment", "variants__translations"
        )
        for slot in slots:
            # The prefetched variants keep the model's ordering (priority, key).
            snapshot = slot_snapshot(slot=slot, variants=slot.variants.all())
            try:
                built[kind].append(slot_from_snapshot(snapshot, kind, 0))
            except ValueError:
                skipped[f"{kind}:{slot.key}"] = "no default variant"
    return (
        site_from_slots(
            site_id=site_id,
            version=version,
            placements=built["placement"],
            screens=built["screen"],
            default_language=default_language,
        ),
        skipped,
    )
