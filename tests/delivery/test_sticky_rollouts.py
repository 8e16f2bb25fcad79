"""Segment rollouts follow the person's bucketing id: an anonymous visitor in a rollout
stays in it after signing in as a new person, on every device, and the SQL count (exact
audience sizes) hashes the same unit as decide."""

from __future__ import annotations

from content.services.drafts import content_variant_create, placement_create
from content.services.publishing import slot_publish
from delivery.services import profile_upsert
from delivery.validation import ProfileInput
from segments.bucketing import hash_unit
from segments.models import Profile, SegmentStatus
from segments.selectors.members import segment_count, segment_members
from segments.services.segments import segment_create

SALT = "thirty"


def rollout_config(site):
    segment = segment_create(
        site=site,
        key="thirty",
        name="30 %",
        criteria={"rollout": 30, "salt": SALT},
        status=SegmentStatus.ACTIVE,
    )
    promo = placement_create(site=site, key="promo", name="Promo", kind="text")
    content_variant_create(placement=promo, key="new", name="New", body="new", segment=segment)
    content_variant_create(placement=promo, key="old", name="Old", body="old")
    slot_publish(slot=promo)
    return segment


def promo(decide, visitor) -> str:
    r = decide({"visitor": visitor, "placements": ["promo"]})
    assert r.status_code == 200, r.content
    return r.json()["placements"]["promo"]["variant"]


def test_an_anonymous_visitor_in_a_30_percent_rollout_stays_in_after_signing_in(decide, site):
    segment = rollout_config(site)
    inside = [a for a in (f"anon-{i}" for i in range(400)) if hash_unit(SALT, a) < 0.3][:15]
    outside = [a for a in (f"anon-{i}" for i in range(400)) if hash_unit(SALT, a) >= 0.3][:15]
    people = {}
    for anon in inside + outside:
        expected = "new" if anon in inside else "old"
        assert promo(decide, {"id": anon}) == expected
        user = f"person-{anon}"
        # The user id alone would land elsewhere for some of them: the anon id decides.
        assert promo(decide, {"id": anon, "user_id": user}) == expected
        assert promo(decide, {"id": f"{anon}-laptop", "user_id": user}) == expected
        assert promo(decide, {"user_id": user}) == expected
        people[user] = anon
    assert any((hash_unit(SALT, u) < 0.3) != (hash_unit(SALT, a) < 0.3) for u, a in people.items())
    stored = dict(
        Profile.objects.filter(site=site, user_id__in=people).values_list("user_id", "bucketing_id")
    )
    assert stored == people
    # Exact counts and member lists (SQL) agree with decide.
    members = set(segment_members(segment=segment).values_list("user_id", flat=True))
    assert members == {f"person-{a}" for a in inside}
    assert segment_count(segment=segment) == len(inside)


def test_a_person_without_anonymous_history_is_bucketed_by_user_id(decide, site):
    segment = rollout_config(site)
    users = [f"direct-{i}" for i in range(40)]
    for user in users:
        expected = "new" if hash_unit(SALT, user) < 0.3 else "old"
        assert promo(decide, {"user_id": user}) == expected
        # An anonymous id linked later does not move them.
        assert promo(decide, {"id": f"later-{user}", "user_id": user}) == expected
    assert set(Profile.objects.filter(site=site).values_list("bucketing_id", flat=True)) == set(
        users
    )
    assert segment_count(segment=segment) == sum(hash_unit(SALT, u) < 0.3 for u in users)


def test_profile_upsert_buckets_by_the_first_linked_id_only_once(site):
    rollout_config(site)
    profile, _ = profile_upsert(
        site_id=site.pk,
        user_id="p",
        data=ProfileInput(traits={}, visitor_ids=("anon-a", "anon-b"), consent=None),
    )
    assert profile.bucketing_id == "anon-a"
    profile, _ = profile_upsert(
        site_id=site.pk,
        user_id="p",
        data=ProfileInput(traits={}, visitor_ids=("anon-c",), consent=None),
    )
    assert profile.bucketing_id == "anon-a"
