"""Delivery: what a visitor gets, served fast. The app owns the per-site snapshot of
published configuration and the pure decision engine that decides every placement and
screen for a visitor (with the reason, and with `explain` the segments matched), the
public delivery API (decide, events ingestion, profile upsert/export/erasure) with its
key authentication, throttling, per-site CORS and validation, the visit and event writes
that follow, the server-side template tag, and the demo page. It reads the layers below
(tenancy, segments, content) and nothing imports it but the project package.
"""
