"""Delivery, the public hot path: per-site snapshots, the pure decision engine
(`delivery.engine`), the decide/events/profiles API with key auth, per-site CORS and
throttling, the `{% personalize %}` template tag and the demo page.

The top app layer: it may import every app below it, none imports it (docs/architecture.md).
"""
