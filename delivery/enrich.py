"""Context enrichment for decide (pure apart from settings): it owns what the API derives
from a request for the visitor's context when the client did not send it: device type,
OS and browser from the user agent, the local time and its hour and weekday (in the
site's time zone by default), the language from the Accept-Language header, and country,
region, city and location from GeoIP. All of
it is cheap on the hot path: user agents are parsed once per distinct string (LRU), and
the GeoIP reader is opened once per process, only when a database is configured.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_ACCEPT_LANGUAGE = 512  # longer headers are cut (content.resolution reads no further)
MOBILE_OS = {"ios", "android", "windows phone", "blackberry os", "firefox os", "kaios"}


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> dict[str, Any]:
    """device_type (mobile/tablet/desktop/other), os, os_version, browser (and is_bot)."""
    import ua_parser

    result = ua_parser.parse(user_agent[:1000])
    out: dict[str, Any] = {}
    ua, os_, device = result.user_agent, result.os, result.device
    if os_ is not None and os_.family and os_.family != "Other":
        out["os"] = os_.family
        version = ".".join(p for p in (os_.major, os_.minor, os_.patch) if p)
        if version:
            out["os_version"] = version
    if ua is not None and ua.family and ua.family != "Other":
        out["browser"] = ua.family
    family = (device.family if device is not None else "") or ""
    os_family = out.get("os", "").lower()
    lowered = user_agent.lower()
    if family == "Spider" or "bot" in lowered or "spider" in lowered or "crawl" in lowered:
        out["device_type"] = "other"  # the catalog's enum has no "bot"
        out["is_bot"] = True
    elif (
        "ipad" in lowered
        or "tablet" in lowered
        or (os_family == "android" and "mobile" not in lowered)
    ):
        out["device_type"] = "tablet"
    elif os_family in MOBILE_OS or "mobile" in lowered:
        out["device_type"] = "mobile"
    elif out:
        out["device_type"] = "desktop"
    return out


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def parse_local_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed


_geoip_reader: Any = None
_geoip_path: str | None = None


def _geoip() -> Any:
    global _geoip_reader, _geoip_path
    path = getattr(settings, "PERSONALIZE_GEOIP_PATH", "")
    if not path:
        return None
    if _geoip_reader is None or _geoip_path != path:
        import geoip2.database

        _geoip_reader = geoip2.database.Reader(path)
        _geoip_path = path
    return _geoip_reader


def geoip_lookup(ip: str) -> dict[str, Any]:
    """country (ISO code), region, city and location from the configured GeoIP database."""
    if not ip:
        return {}
    try:
        reader = _geoip()
        if reader is None:
            return {}
        found = reader.city(ip)
    except Exception:  # unknown address, private range, corrupt file: simply no geo data
        return {}
    out: dict[str, Any] = {}
    if found.country and found.country.iso_code:
        out["country"] = found.country.iso_code
    if found.subdivisions and found.subdivisions.most_specific.name:
        out["region"] = found.subdivisions.most_specific.name
    if found.city and found.city.name:
        out["city"] = found.city.name
    loc = found.location
    if loc is not None and loc.latitude is not None and loc.longitude is not None:
        out["location"] = {"lat": loc.latitude, "lng": loc.longitude}
    return out


def enrich_context(
    context: dict[str, Any],
    *,
    user_agent: str = "",
    ip: str = "",
    accept_language: str = "",
    site_timezone: str = "UTC",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A copy of `context` with derived keys; values the client sent always win.

    - device_type, os, os_version, browser from the user agent (context.user_agent or the
      request header) when device_type or os is absent;
    - local_time (the site's time zone when absent or unreadable), local_hour (0-23),
      local_weekday (1 = Monday … 7 = Sunday) and local_day ("monday"…);
    - language: the request's Accept-Language header as sent ("fr-CA,fr;q=0.9"), when the
      context has none; decide serves translations from it (`content.resolution`);
    - country, region, city, location from the client IP when PERSONALIZE_GEOIP_PATH is
      set and the context has no country.
    """
    out = dict(context)
    if "device_type" not in out or "os" not in out:
        ua = out.get("user_agent") if isinstance(out.get("user_agent"), str) else user_agent
        if ua:
            for key, value in parse_user_agent(ua).items():
                out.setdefault(key, value)
    local = parse_local_time(out.get("local_time"))
    if local is None or local.tzinfo is None:
        try:
            zone = _zone(site_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = _zone("UTC")
        if local is None:
            local = (now or datetime.now(UTC)).astimezone(zone)
        else:
            local = local.replace(tzinfo=zone)
        out["local_time"] = local.isoformat()
    out.setdefault("local_hour", local.hour)
    out.setdefault("local_weekday", local.isoweekday())
    out.setdefault("local_day", WEEKDAYS[local.weekday()])
    if accept_language and "language" not in out:
        out["language"] = accept_language[:MAX_ACCEPT_LANGUAGE]
    if "country" not in out and getattr(settings, "PERSONALIZE_GEOIP_PATH", ""):
        address = out.get("ip") if isinstance(out.get("ip"), str) else ip
        for key, value in geoip_lookup(address).items():
            out.setdefault(key, value)
    return out
