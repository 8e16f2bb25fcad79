"""Context enrichment: user agent, local time, GeoIP (only when configured)."""

from __future__ import annotations

from datetime import UTC, datetime

from delivery import enrich
from delivery.enrich import enrich_context, parse_user_agent

NOW = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)


def test_user_agents():
    assert (
        parse_user_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
        )["device_type"]
        == "desktop"
    )
    ipad = parse_user_agent(
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
    )
    assert ipad["device_type"] == "tablet" and ipad["os"] == "iOS"
    android = parse_user_agent(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
    )
    assert (
        android["device_type"] == "mobile"
        and android["os"] == "Android"
        and android["os_version"] == "14"
    )
    bot = parse_user_agent("Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert bot["device_type"] == "other" and bot["is_bot"] is True
    assert parse_user_agent("") == {}


def test_local_time_from_context_or_site_zone():
    ctx = enrich_context(
        {"local_time": "2026-11-22T19:05:00-05:00"}, site_timezone="Europe/Paris", now=NOW
    )
    assert (ctx["local_hour"], ctx["local_weekday"], ctx["local_day"]) == (19, 7, "sunday")
    ctx = enrich_context({}, site_timezone="Europe/Paris", now=NOW)
    assert ctx["local_hour"] == 0 and ctx["local_day"] == "monday"
    assert ctx["local_time"].startswith("2026-11-23T00:30:00+01:00")
    ctx = enrich_context(
        {"local_time": "2026-11-22T08:00:00"}, site_timezone="America/Detroit", now=NOW
    )
    assert ctx["local_hour"] == 8 and ctx["local_time"].endswith("-05:00")
    ctx = enrich_context({"local_time": "garbage"}, site_timezone="Nowhere/Void", now=NOW)
    assert ctx["local_hour"] == 23


def test_client_values_win():
    ctx = enrich_context(
        {"local_hour": 5, "device_type": "tv", "os": "Tizen"},
        user_agent="Mozilla/5.0 (iPhone)",
        now=NOW,
    )
    assert ctx["local_hour"] == 5 and ctx["device_type"] == "tv"


def test_geoip_only_when_configured(settings, monkeypatch):
    calls = []
    monkeypatch.setattr(
        enrich, "geoip_lookup", lambda ip: calls.append(ip) or {"country": "US", "city": "Detroit"}
    )
    settings.PERSONALIZE_GEOIP_PATH = ""
    assert "country" not in enrich_context({}, ip="8.8.8.8", now=NOW) and calls == []
    settings.PERSONALIZE_GEOIP_PATH = "/data/GeoLite2-City.mmdb"
    ctx = enrich_context({}, ip="8.8.8.8", now=NOW)
    assert ctx["country"] == "US" and ctx["city"] == "Detroit" and calls == ["8.8.8.8"]
    assert enrich_context({"country": "FR"}, ip="8.8.8.8", now=NOW)["country"] == "FR"


def test_missing_geoip_file_is_harmless(settings):
    settings.PERSONALIZE_GEOIP_PATH = "/nonexistent/GeoLite2-City.mmdb"
    assert "country" not in enrich_context({}, ip="8.8.8.8", now=NOW)


def test_language_from_the_accept_language_header():
    header = "fr-CA,fr;q=0.9,en;q=0.8"
    assert enrich_context({}, accept_language=header)["language"] == header
    assert enrich_context({"language": "es"}, accept_language=header)["language"] == "es"
    assert "language" not in enrich_context({})
    long = enrich_context({}, accept_language="x" * 10_000)["language"]
    assert len(long) == enrich.MAX_ACCEPT_LANGUAGE
