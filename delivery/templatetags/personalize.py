"""Server-rendered personalization: it owns the `{% personalize %}` and
`{% personalize_decision %}` template tags, which decide in-process (the same service and
engine as the API, no HTTP hop), once per request and site for every tag on the page, and
render a placement's content. The visitor is the request's `pz_vid` cookie
(PERSONALIZE_VISITOR_COOKIE), the same id the JS client stores;
`request.personalize_user_id` (set it in your middleware) makes them a known visitor; the
`pz_consent=0` cookie turns consent off. `{% personalize_user_hash user_id %}` signs a user
id for the JS client (`userHash`), with the site's identity secret, on the server.
Experiment assignments are echoed from the `pz_asg` cookie (PERSONALIZE_ASSIGNMENTS_COOKIE,
JSON {experiment: "phase:arm"}, written by the JS client beside its localStorage copy);
the assignments this request's decide answered are on `request.personalize_assignments`
for a site that sets the cookie itself (delivery.middleware.PersonalizeCookiesMiddleware does).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from delivery import services
from delivery.engine import DecideAnswer, SlotDecision
from delivery.validation import MAX_ASSIGNMENTS, DecideInput, assignment_ok
from tenancy.failopen import cache_get_or_none, cache_set_quietly, publish_quietly
from tenancy.identity import site_identity_get, user_hash_compute
from tenancy.models import Site

register = template.Library()

SITE_CACHE_SECONDS = 300


def _site_id(slug: str) -> int | None:
    key = f"personalize:site-slug:{slug}"
    site_id = cache_get_or_none(key)
    if site_id is None:
        site_id = Site.objects.filter(slug=slug).values_list("pk", flat=True).first() or 0
        cache_set_quietly(key, site_id, SITE_CACHE_SECONDS)
    return site_id or None


def visitor_from_request(request: Any) -> tuple[str, str | None, bool]:
    cookie = getattr(settings, "PERSONALIZE_VISITOR_COOKIE", "pz_vid")
    cookies = getattr(request, "COOKIES", {}) or {}
    consent = cookies.get("pz_consent") != "0"
    visitor_id = cookies.get(cookie) if consent else None
    if not visitor_id or len(visitor_id) > 255:
        visitor_id = getattr(request, "_personalize_vid", None) or f"srv-{uuid.uuid4().hex}"
        if request is not None:
            request._personalize_vid = visitor_id
    user_id = getattr(request, "personalize_user_id", None)
    return visitor_id, (str(user_id) if user_id else None), consent


def assignments_from_request(request: Any) -> dict[str, str]:
    """The echoed experiment assignments of the request's cookie. A cookie is not an API
    body: what is malformed is dropped (never a 400), and the engine ignores what is stale."""
    cookie = getattr(settings, "PERSONALIZE_ASSIGNMENTS_COOKIE", "pz_asg")
    raw = (getattr(request, "COOKIES", {}) or {}).get(cookie)
    if not raw or len(raw) > 8192:
        return {}
    try:  # the JS client writes it URL-encoded (encodeURIComponent)
        value = json.loads(unquote(raw))
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    kept = [(k, v) for k, v in value.items() if assignment_ok(k, v)]
    return dict(kept[:MAX_ASSIGNMENTS])


def decision_for_request(request: Any, site_slug: str) -> DecideAnswer | None:
    """Every placement of the site decided for this request's visitor (memoised per request)."""
    memo = getattr(request, "_personalize_decisions", None)
    if memo is None:
        memo = {}
        if request is not None:
            request._personalize_decisions = memo
    if site_slug in memo:
        return memo[site_slug]
    site_id = _site_id(site_slug)
    if site_id is None:
        memo[site_slug] = None
        return None
    visitor_id, user_id, consent = visitor_from_request(request)
    meta = getattr(request, "META", {}) or {}
    echoed = assignments_from_request(request) if consent else {}
    data = DecideInput(
        visitor_id=visitor_id,
        user_id=user_id,
        consent=consent,
        visitor_extra={},
        profile={},
        context={"landing_page": getattr(request, "path", "")} if request is not None else {},
        placements=None,  # everything: one decide serves every tag on the page
        screens=None,
        explain=False,
        assignments=echoed,
    )
    decision = services.decide_for_visitor(
        site_id=site_id,
        data=data,
        caller="server",  # in-process: the user id comes from the site's own request
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        ip=meta.get("REMOTE_ADDR", ""),
        accept_language=meta.get("HTTP_ACCEPT_LANGUAGE", ""),
    )
    for job in decision.followups:  # a Celery publish (or inline when eager)
        job()
    memo[site_slug] = decision.body
    if request is not None and decision.body.get("assignments"):
        request.personalize_assignments = {
            **getattr(request, "personalize_assignments", echoed),
            **decision.body["assignments"],
        }
    return decision.body


def render_content(content: dict[str, Any] | None) -> SafeString:
    """HTML is sanitised when edited (content app), so it is emitted as is; the rest escaped."""
    if not content:
        return mark_safe("")
    kind, body = content.get("kind"), content.get("body")
    if kind == "html":
        return mark_safe(body or "")
    if kind == "image" and isinstance(body, dict):
        img = format_html('<img src="{}" alt="{}">', body.get("src", ""), body.get("alt", ""))
        return format_html('<a href="{}">{}</a>', body["href"], img) if body.get("href") else img
    if kind == "json":
        return escape(json.dumps(body, ensure_ascii=False))
    return escape(body if isinstance(body, str) else json.dumps(body))


@register.simple_tag(takes_context=True)
def personalize(context: template.Context, placement: str, site: str | None = None) -> Any:
    """Render the placement's decided content (PERSONALIZE_SITE's, or `site`'s):

    {% load personalize %}
    {% personalize "home_hero" %}
    {% personalize "home_hero" site="demo" %}
    """
    decided = personalize_decision(context, placement, site)
    if decided is None:
        return format_html('<div data-personalize-rendered="{}"></div>', placement)
    reason = decided.get("reason") or {}
    impression_record(
        context.get("request"),
        site or getattr(settings, "PERSONALIZE_SITE", ""),
        placement,
        decided,
    )
    # data-personalize-slot: the JS client, when on the page, records clicks on it.
    return format_html(
        '<div data-personalize-rendered="{}" data-personalize-slot="{}" data-variant="{}" '
        'data-reason="{}" data-reason-json="{}">{}</div>',
        placement,
        placement,
        decided["variant"],
        reason.get("kind", ""),
        json.dumps(reason, separators=(",", ":")),
        render_content(decided["content"]),
    )


def impression_record(request: Any, site_slug: str, placement: str, decided: SlotDecision) -> None:
    """Queue the impression of a rendered placement (once per request and placement), off
    the request path: a Celery task stores it. Nothing without consent."""
    site_id = _site_id(site_slug) if site_slug else None
    if request is None or site_id is None:
        return
    visitor_id, user_id, consent = visitor_from_request(request)
    seen = request.__dict__.setdefault("_personalize_impressions", set())
    if not consent or (site_id, placement) in seen:
        return
    seen.add((site_id, placement))
    event: dict[str, Any] = {
        "kind": "impression",
        "name": "impression",
        "slot": placement,
        "variant": decided["variant"],
        "timestamp": timezone.now().isoformat(),
    }
    if decided.get("reason"):
        event["reason"] = decided["reason"]
    from delivery.tasks import events_record_task

    # An impression is worth less than the page: a broker outage drops it with a log line.
    publish_quietly(
        events_record_task,
        site_id,
        {"visitor": {"id": visitor_id, "user_id": user_id}, "events": [event]},
    )


@register.simple_tag(takes_context=True)
def personalize_decision(
    context: template.Context, placement: str, site: str | None = None
) -> SlotDecision | None:
    """The placement's decision (variant, content, reason):
    `{% personalize_decision "home_hero" as hero %}{{ hero.variant }}`."""
    site_slug = site or getattr(settings, "PERSONALIZE_SITE", "")
    body = decision_for_request(context.get("request"), site_slug) if site_slug else None
    return (body or {}).get("placements", {}).get(placement)


@register.simple_tag
def personalize_user_hash(user_id: Any, site: str | None = None) -> str:
    """The `user_hash` proving `user_id` to the delivery API (PERSONALIZE_SITE's secret, or
    `site`'s), for the JS client: `Personalize.init({userId: …, userHash: "{% personalize_user_hash
    user.pk %}"})`. Empty when there is no user id or no such site."""
    site_id = _site_id(site or getattr(settings, "PERSONALIZE_SITE", "")) if user_id else None
    identity = site_identity_get(site_id=site_id) if site_id else None
    if identity is None:
        return ""
    return user_hash_compute(secret=identity.secret, user_id=str(user_id))
