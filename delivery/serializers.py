"""The delivery API's documented shapes: it owns the DRF serializers that describe the
decide, events and profile requests and responses (and the error envelope) for the
OpenAPI schema. They validate nothing: `delivery.validation` does, by hand and faster,
and the engine's TypedDicts (`Reason`, `SlotDecision`, `DecideAnswer`) are what decide
actually returns.
"""

from __future__ import annotations

from typing import get_args

from rest_framework import serializers

from content.resolution import ReasonKind
from segments.models import EventKind

USER_HASH_HELP = (
    "Proof of `user_id` from the site's server: hex HMAC-SHA256 of the user id with the site's "
    "identity secret. Public keys only; without it the visitor is anonymous (decide) or the "
    "batch is refused (events)."
)


# Request fields: an optional field sent as null is read as absent (`allow_null`).
class VisitorSerializer(serializers.Serializer):
    id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=255,
        help_text="Anonymous visitor id (cookie, device id).",
    )
    user_id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=255,
        help_text="The site's id of a signed-in person; loads the stored profile (with a "
        "public key, only together with a valid `user_hash`).",
    )
    user_hash = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=128,
        help_text=USER_HASH_HELP,
    )
    consent = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=True,
        help_text="False: nothing is stored and only this request's data is used.",
    )
    visit_count = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="Anonymous visitors only."
    )
    first_seen = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Anonymous visitors only."
    )
    last_seen = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Anonymous visitors only."
    )
    assignments = serializers.DictField(
        child=serializers.CharField(max_length=110),
        required=False,
        allow_null=True,
        help_text='The `assignments` decide answered before, echoed: {experiment key: "phase:arm"} '
        "(at most 100). Keeps the visitor's arm when an experiment's weights change within a "
        "phase. Entries for another phase, an unknown arm or an experiment that is not running "
        "on this site are ignored; a known person's stored assignments win.",
    )


class InlineEventSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    properties = serializers.DictField(required=False, allow_null=True, help_text="At most 8 KB.")
    timestamp = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="ISO 8601; default: the decide time. From 1970-01-01 to at most a day ahead.",
    )


class DecideRequestSerializer(serializers.Serializer):
    visitor = VisitorSerializer()
    profile = serializers.DictField(
        required=False, allow_null=True, help_text="Traits for this request; override stored ones."
    )
    context = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="device_type, os, os_version, app_version, browser, language, country, region, "
        "city, location, weather, local_time, referrer, landing_page, utm_*, channel, in_car, "
        "custom keys. `language` is a BCP 47 tag or an Accept-Language value "
        '("fr-CA,fr;q=0.9"); without it the Accept-Language header is used.',
    )
    events = serializers.ListField(
        child=InlineEventSerializer(),
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Recent events the app keeps for this visitor (at most 100), counted by "
        "event conditions together with the stored events of a known visitor; never stored. "
        "Send events not posted to /events yet, or the history of an anonymous visitor.",
    )
    placements = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_null=True, max_length=200
    )
    screens = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_null=True, max_length=200
    )
    explain = serializers.BooleanField(required=False, allow_null=True, default=False)


class ReasonSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=f"One of: {', '.join(get_args(ReasonKind))}.")
    segment = serializers.CharField(required=False)
    experiment = serializers.CharField(required=False)
    phase = serializers.IntegerField(required=False, help_text="Experiments: the phase.")
    arm = serializers.CharField(required=False, help_text="Experiments and optimizations.")
    optimization = serializers.CharField(required=False, help_text="Optimized: its key.")
    version = serializers.IntegerField(
        required=False,
        help_text="Optimized: the model version that drew the arm (0: the uniform start policy).",
    )


def language_served_field() -> serializers.CharField:
    return serializers.CharField(
        help_text="BCP 47 tag of the language served: a translation's, or the site's default "
        "language (the variant's base content). See context.language."
    )


class PlacementDecisionSerializer(serializers.Serializer):
    variant = serializers.CharField()
    content = serializers.DictField(help_text='{"kind": ..., "body": ...}')
    language = language_served_field()
    reason = ReasonSerializer()


class ScreenDecisionSerializer(serializers.Serializer):
    variant = serializers.CharField()
    design = serializers.DictField()
    language = language_served_field()
    reason = ReasonSerializer()


class DecideResponseSerializer(serializers.Serializer):
    visitor_id = serializers.CharField()
    placements = serializers.DictField(child=PlacementDecisionSerializer())
    screens = serializers.DictField(child=ScreenDecisionSerializer())
    unknown = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Requested keys that are not published.",
    )
    assignments = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='{experiment key: "phase:arm"} for the experiments this decide placed the '
        "visitor in (absent when none): keep them and send them back as "
        "`visitor.assignments`.",
    )
    explain = serializers.DictField(
        required=False,
        help_text="With `explain`: segments matched, `holdout` (in the site's global holdout), "
        "per slot the trace and, under an experiment, `experiment` (experiment, phase, "
        "arm, control, probability, sticky), under an optimization `optimization` "
        "(optimization, version, arm, holdout, propensity, leaf, probabilities by arm, "
        "features read), and `segment_explanations`: for each segment a "
        "trace tried, its criteria tree with `passed`, the machine fields (`path`, `type`, "
        "`field`, `op`, `value`, `actual`) and a human `summary` per node, in the visitor's "
        "language (`context.language`, else Accept-Language; English by default).",
    )


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="Client event id: retries are idempotent.",
    )
    kind = serializers.ChoiceField(
        choices=EventKind.choices,
        default=EventKind.CUSTOM,
        help_text="impression, click, conversion or custom (default).",
    )
    name = serializers.CharField(max_length=100)
    properties = serializers.DictField(
        required=False, allow_null=True, help_text="At most 5 levels, 100 keys, 8 KB."
    )
    timestamp = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Default: when received. From 1970-01-01 to at most a day from now.",
    )
    visitor_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    user_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    user_hash = serializers.CharField(
        required=False, allow_null=True, max_length=128, help_text=USER_HASH_HELP
    )
    slot = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Impressions, clicks, conversions: the placement or screen key shown.",
    )
    variant = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="The variant key shown (needs `slot`).",
    )
    reason = serializers.DictField(
        required=False,
        allow_null=True,
        help_text='Why it was shown, as decide answered: {"kind": "segment", "segment": key}, '
        '{"kind": "experiment", "experiment": key, "phase": n, "arm": key}, {"kind": '
        '"holdout"}, {"kind": "optimized", "optimization": key, "version": n, "arm": key} or '
        '{"kind": "default"} '
        "(needs `slot`).",
    )


class EventBatchVisitorSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_null=True, max_length=255)
    user_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    user_hash = serializers.CharField(
        required=False, allow_null=True, max_length=128, help_text=USER_HASH_HELP
    )
    consent = serializers.BooleanField(required=False, allow_null=True, default=True)


class EventBatchSerializer(serializers.Serializer):
    visitor = EventBatchVisitorSerializer(required=False, allow_null=True)
    events = EventSerializer(many=True, help_text="1 to 500 events; the body at most 1 MB.")


class EventBatchResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Events whose id was already stored (retries).")
    consent = serializers.BooleanField()


class ProfileUpsertSerializer(serializers.Serializer):
    traits = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="Merged into stored traits; null deletes a trait.",
    )
    visitor_ids = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Anonymous ids to link to this person (their events follow).",
    )
    consent = serializers.BooleanField(required=False, allow_null=True)


class ProfileSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    traits = serializers.DictField()
    consent = serializers.BooleanField()
    visit_count = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    visitor_ids = serializers.ListField(child=serializers.CharField())


class ProfileExportSerializer(ProfileSerializer):
    """Everything stored about the person: the profile, then its history and links (a
    `visitor_ids` entry here is a dict with the id's dates, not just the id)."""

    last_context = serializers.DictField()
    recent_events = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    visitor_ids = serializers.ListField(child=serializers.DictField())
    events = serializers.ListField(child=serializers.DictField())
    static_segments = serializers.ListField(
        child=serializers.CharField(), help_text="Keys of the static segments listing the person."
    )
    bucketing_id = serializers.CharField(
        help_text="The id rollouts and experiments hash for the person (the anonymous id "
        "they first signed in with)."
    )
    behaviour_counters = serializers.DictField(
        help_text="Behavioural counters: per counter key, the times of the recent events "
        "an event condition counts."
    )
    experiment_assignments = serializers.ListField(
        child=serializers.DictField(),
        help_text="Experiment arms recorded for the person's ids: experiment, phase, arm, "
        "unit_id, probability, first_exposed_at.",
    )
    optimization_decisions = serializers.ListField(
        child=serializers.DictField(),
        help_text="Optimization decisions logged for the person's ids (a unit's first under "
        "each model version): optimization, version, arm, unit_id, propensity, holdout, "
        "features (the values the policy read), decided_at.",
    )


class ErrorFieldSerializer(serializers.Serializer):
    path = serializers.CharField()
    message = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = ErrorFieldSerializer(many=True, required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
