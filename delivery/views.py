"""The delivery API's HTTP layer: it owns the views of decide, events and profiles (read
the JSON body within its limit, validate, call a service or selector, answer), their
OpenAPI documentation and examples, the mapping of delivery errors onto the API's error
envelope, and what only HTTP knows of, such as running a decide's follow-up work after
its response has been sent (`FollowUpResponse`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from content.resolution import segment_reason
from delivery import serializers as s
from delivery import services
from delivery.authentication import DeliveryKeyAuthentication
from delivery.cors import OriginAllowed
from delivery.selectors import profile_export, profile_summary
from delivery.snapshot import SiteGone
from delivery.throttling import DeliveryKeyThrottle
from delivery.validation import (
    MAX_DECIDE_BODY,
    MAX_EVENTS_BODY,
    MAX_PROFILE_BODY,
    DeliveryValidationError,
    PayloadTooLarge,
    parse_json_body,
    validate_decide,
    validate_events,
    validate_profile,
    validate_user_id,
)
from tenancy.api.authentication import DeliveryKeyRequired, ServerKeyRequired
from tenancy.api.errors import error_response
from tenancy.api.errors import exception_handler as api_exception_handler
from tenancy.models import ApiKeyKind

logger = logging.getLogger(__name__)

SECURITY = [{"ApiKeyAuth": []}]
JSON_RENDERER = JSONRenderer()


def delivery_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DeliveryValidationError):
        first = exc.items[0]
        message = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
        return error_response("invalid", message, status.HTTP_400_BAD_REQUEST, exc.items)
    if isinstance(exc, PayloadTooLarge):
        return error_response(
            "payload_too_large", str(exc), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, SiteGone):
        return error_response(
            "site_not_found", "The key's site no longer exists.", status.HTTP_404_NOT_FOUND
        )
    return api_exception_handler(exc, context)


def read_json(request: Request, limit: int) -> Any:
    """The JSON body, refusing oversized ones before reading them."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(limit)
    return parse_json_body(request.body, limit=limit)


def client_ip(request: Request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def caller_of(request: Request) -> services.Caller:
    """A server key speaks for the site's server; a public key's user ids need proof."""
    return "server" if request.auth.kind == ApiKeyKind.SERVER else "public"


class FollowUpResponse(HttpResponse):
    """A response that runs `followups` when the server closes it, i.e. once it has been
    sent, so the client never waits for them. A failing follow-up is logged; the response
    is already out."""

    def __init__(
        self, content: bytes, *, followups: Iterable[Callable[[], None]] = (), **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self.followups = tuple(followups)

    def close(self) -> None:
        followups, self.followups = self.followups, ()  # at most once, however often closed
        for job in followups:
            try:
                job()
            except Exception:
                logger.exception("a follow-up of a sent response failed")
        super().close()


class DeliveryAPIView(APIView):
    authentication_classes = [DeliveryKeyAuthentication]
    permission_classes = [DeliveryKeyRequired, OriginAllowed]
    throttle_classes = [DeliveryKeyThrottle]
    renderer_classes = [JSONRenderer]
    # Bodies are read from request.body and validated by `validation` (request.data is never
    # touched); the parser is declared so the schema shows JSON request bodies.
    parser_classes = [JSONParser]

    def get_exception_handler(self):  # type: ignore[override]
        return delivery_exception_handler

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple:
        # JSON is the only representation: skip parsing the Accept header on the hot path.
        return JSON_RENDERER, JSON_RENDERER.media_type


# What the seeded demo site (`make run`) answers for a 27-year-old shoe shopper in Detroit
# on a rainy evening, whose app sends her recent purchases (tests/delivery/
# test_documented_example.py runs this request against the demo data).
DECIDE_EXAMPLE = {
    "visitor": {"id": "anon-7f3"},
    "profile": {"age": 27, "gender": "female", "city": "Detroit"},
    "context": {
        "device_type": "mobile",
        "os": "iOS",
        "os_version": "17.2",
        "city": "Detroit",
        "local_time": "2026-11-22T19:05:00-05:00",
        "weather": "rain",
    },
    "events": [
        {
            "name": "purchase",
            "properties": {"category": "shoes", "price": 34.99},
            "timestamp": "2026-11-10T12:00:00Z",
        },
        {
            "name": "purchase",
            "properties": {"category": "shoes", "price": 42},
            "timestamp": "2026-10-13T17:30:00Z",
        },
    ],
    "placements": ["home_hero"],
    "screens": ["home"],
    "explain": False,
}
DECIDE_RESPONSE_EXAMPLE = {
    "visitor_id": "anon-7f3",
    "placements": {
        "home_hero": {
            "variant": "detroit-shoes",
            "content": {
                "kind": "html",
                "body": "<h2>20% off shoes under $50</h2><p>For our Detroit shoppers, this week "
                'only. <a href="/shoes?promo=DETROIT20" rel="noopener noreferrer">Shop shoes</a>'
                "</p>",
            },
            "language": "en",
            "reason": segment_reason("detroit-shoe-shoppers"),
        }
    },
    "screens": {
        "home": {
            "variant": "rainy-evening",
            "design": {
                "root": {
                    "type": "Screen",
                    "children": [
                        {
                            "type": "Hero",
                            "props": {"title": "Cosy night in?", "image": "/static/demo/rain.svg"},
                        },
                        {"type": "Placement", "props": {"key": "home_hero"}},
                    ],
                },
                "theme": {"colors": {"background": "#1e2a38", "text": "#f0f4f8"}},
            },
            "language": "en",
            "reason": segment_reason("rainy-evening"),
        }
    },
}
ERROR_RESPONSES = {
    400: OpenApiResponse(
        s.ErrorSerializer,
        description="Invalid input; `fields` lists every problem with its JSON path.",
        examples=[
            OpenApiExample(
                "Invalid",
                value={
                    "error": {
                        "code": "invalid",
                        "message": "visitor.id: Must be a non-empty string.",
                        "fields": [
                            {"path": "visitor.id", "message": "Must be a non-empty string."}
                        ],
                    }
                },
            )
        ],
    ),
    401: OpenApiResponse(
        s.ErrorSerializer,
        description="Missing, malformed, unknown or revoked key.",
        examples=[
            OpenApiExample(
                "No key",
                value={
                    "error": {
                        "code": "api_key_missing",
                        "message": "An API key is required: send 'Authorization: Api-Key <key>'.",
                    }
                },
            ),
            OpenApiExample(
                "Revoked",
                value={
                    "error": {"code": "api_key_revoked", "message": "The API key has been revoked."}
                },
            ),
        ],
    ),
    403: OpenApiResponse(
        s.ErrorSerializer,
        description="Wrong kind of key, or a browser origin the site does not allow.",
        examples=[
            OpenApiExample(
                "Origin",
                value={
                    "error": {
                        "code": "origin_not_allowed",
                        "message": "The origin https://evil.example is not allowed for this "
                        "site; add it to the site's allowed origins.",
                    }
                },
            )
        ],
    ),
    413: OpenApiResponse(s.ErrorSerializer, description="The body is over the endpoint's limit."),
    429: OpenApiResponse(s.ErrorSerializer, description="Too many requests for this key."),
}


class DecideView(DeliveryAPIView):
    @extend_schema(
        operation_id="decide",
        summary="Which variant of each placement and screen a visitor gets, and why",
        description=(
            "Public delivery key (browsers, apps) or server key. Omit both `placements` and "
            "`screens` to get all of them; send one of them to get only those. Inline `profile` "
            "traits override stored ones; `visitor.user_id` loads the stored profile (one query) "
            "and is the rollout unit (a public key needs `visitor.user_hash` for that, see "
            "docs/integration.md; without it the visitor is anonymous); anonymous decides run "
            "no SQL. `visitor.consent: false` "
            "stores nothing and ignores stored data. With `explain`, the response lists the "
            "segments matched and a per-slot trace."
        ),
        request=s.DecideRequestSerializer,
        responses={200: s.DecideResponseSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample("Known visitor on a phone", value=DECIDE_EXAMPLE, request_only=True),
            OpenApiExample(
                "Anonymous, everything, explained",
                value={
                    "visitor": {"id": "anon-7f3"},
                    "context": {"weather": "rain"},
                    "explain": True,
                },
                request_only=True,
            ),
            OpenApiExample(
                "No consent",
                value={"visitor": {"id": "anon-7f3", "consent": False}},
                request_only=True,
            ),
            OpenApiExample(
                "Decision", value=DECIDE_RESPONSE_EXAMPLE, response_only=True, status_codes=["200"]
            ),
        ],
        tags=["delivery"],
        auth=SECURITY,
    )
    def post(self, request: Request) -> HttpResponse:
        payload = read_json(request, MAX_DECIDE_BODY)
        data = validate_decide(payload, body_size=len(request.body))
        decision = services.decide_for_visitor(
            site_id=request.auth.site_id,
            data=data,
            caller=caller_of(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            ip=client_ip(request),
            accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
        )
        return FollowUpResponse(
            decision.json(), followups=decision.followups, content_type="application/json"
        )


EVENTS_EXAMPLE = {
    "visitor": {"id": "anon-7f3", "user_id": "u-42"},
    "events": [
        {
            "id": "0b6f2c1e-imp-1",
            "kind": "impression",
            "name": "impression",
            "slot": "home_hero",
            "variant": "detroit-shoes",
            "reason": segment_reason("detroit-shoe-shoppers"),
            "timestamp": "2026-11-22T19:05:01-05:00",
        },
        {
            "id": "0b6f2c1e-clk-1",
            "kind": "click",
            "name": "click",
            "slot": "home_hero",
            "variant": "detroit-shoes",
            "reason": segment_reason("detroit-shoe-shoppers"),
        },
        {
            "id": "0b6f2c1e-buy-1",
            "kind": "conversion",
            "name": "purchase",
            "properties": {"price": 42.5, "category": "shoes"},
        },
    ],
}


class EventsView(DeliveryAPIView):
    @extend_schema(
        operation_id="events_ingest",
        summary="Record a batch of impressions, clicks, conversions and custom events",
        description=(
            "Delivery or server key; throttled per key. All or nothing: when any event is "
            "invalid the whole batch is rejected (400) with every problem listed by path "
            "(`events[3].name`) and nothing is stored. Event `id`s make retries idempotent: "
            "events already stored are counted as `duplicates`. At most 500 events and 1 MB "
            "per batch; `properties` at most 5 levels deep, 100 keys per object, 8 KB. "
            "`visitor.consent: false` stores nothing."
        ),
        request=s.EventBatchSerializer,
        responses={202: s.EventBatchResultSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample("Impression, click, purchase", value=EVENTS_EXAMPLE, request_only=True),
            OpenApiExample(
                "Stored",
                value={"received": 3, "stored": 3, "duplicates": 0, "consent": True},
                response_only=True,
                status_codes=["202"],
            ),
        ],
        tags=["delivery"],
        auth=SECURITY,
    )
    def post(self, request: Request) -> Response:
        batch = validate_events(read_json(request, MAX_EVENTS_BODY), now=timezone.now())
        result = services.events_ingest(
            site_id=request.auth.site_id, batch=batch, caller=caller_of(request)
        )
        return Response(result.as_dict(), status=status.HTTP_202_ACCEPTED)


PROFILE_EXAMPLE = {
    "user_id": "u-42",
    "traits": {"age": 27, "city": "Detroit", "loyalty_tier": "gold"},
    "consent": True,
    "visit_count": 12,
    "first_seen": "2026-01-04T10:00:00Z",
    "last_seen": "2026-11-22T19:05:00Z",
    "visitor_ids": ["anon-7f3"],
}
USER_ID = OpenApiParameter(
    "user_id", str, OpenApiParameter.PATH, description="The site's id of the person."
)


def _not_found(user_id: str) -> Response:
    return error_response(
        "not_found", f"No profile with user_id {user_id!r} on this site.", status.HTTP_404_NOT_FOUND
    )


class ProfileView(DeliveryAPIView):
    permission_classes = [ServerKeyRequired]

    @extend_schema(
        operation_id="profile_export",
        summary="Export everything held about a person",
        description="Secret server key only. The profile, linked anonymous ids and every event.",
        parameters=[USER_ID],
        responses={200: s.ProfileExportSerializer, 404: s.ErrorSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "Export",
                value={
                    **PROFILE_EXAMPLE,
                    "visitor_ids": [
                        {"visitor_id": "anon-7f3", "linked_at": "2026-11-20T08:00:00Z"}
                    ],
                    "last_context": {"device_type": "mobile", "city": "Detroit"},
                    "recent_events": [
                        {
                            "name": "purchase",
                            "properties": {"price": 42.5},
                            "timestamp": "2026-11-21T12:00:00+00:00",
                        }
                    ],
                    "created_at": "2026-01-04T10:00:00Z",
                    "updated_at": "2026-11-22T19:05:00Z",
                    "events": [
                        {
                            "id": "e-1",
                            "kind": "conversion",
                            "name": "purchase",
                            "properties": {"price": 42.5},
                            "visitor_id": "anon-7f3",
                            "timestamp": "2026-11-21T12:00:00+00:00",
                            "received_at": "2026-11-21T12:00:01+00:00",
                        }
                    ],
                    "static_segments": ["newsletter-2026"],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["profiles"],
        auth=SECURITY,
    )
    def get(self, request: Request, user_id: str) -> Response:
        validate_user_id(user_id)
        body = profile_export(site_id=request.auth.site_id, user_id=user_id)
        if body is None:
            return _not_found(user_id)
        return Response(body)

    @extend_schema(
        operation_id="profile_upsert",
        summary="Create or update a person: merge traits, link anonymous ids, set consent",
        description=(
            "Secret server key only. `traits` are merged into the stored ones; a `null` value "
            "deletes that trait. `visitor_ids` links anonymous ids (and their events) to the "
            "person. `consent: false` stops tracking and clears collected context and events."
        ),
        parameters=[USER_ID],
        request=s.ProfileUpsertSerializer,
        responses={200: s.ProfileSerializer, 201: s.ProfileSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "Upsert",
                value={
                    "traits": {"age": 27, "city": "Detroit", "old_flag": None},
                    "visitor_ids": ["anon-7f3"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Profile", value=PROFILE_EXAMPLE, response_only=True, status_codes=["200", "201"]
            ),
        ],
        tags=["profiles"],
        auth=SECURITY,
    )
    def put(self, request: Request, user_id: str) -> Response:
        validate_user_id(user_id)
        data = validate_profile(read_json(request, MAX_PROFILE_BODY))
        profile, created = services.profile_upsert(
            site_id=request.auth.site_id, user_id=user_id, data=data
        )
        return Response(
            profile_summary(profile=profile),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="profile_erase",
        summary="Erase a person completely",
        description=(
            "Secret server key only. Deletes the profile, every event recorded for the person "
            "(also under linked anonymous ids), the links, static-segment memberships and "
            "experiment assignments."
        ),
        parameters=[USER_ID],
        request=None,
        responses={
            204: OpenApiResponse(description="Erased."),
            404: s.ErrorSerializer,
            **ERROR_RESPONSES,
        },
        tags=["profiles"],
        auth=SECURITY,
    )
    def delete(self, request: Request, user_id: str) -> Response:
        validate_user_id(user_id)
        erased = services.profile_erase(site_id=request.auth.site_id, user_id=user_id)
        if erased is None:
            return _not_found(user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
