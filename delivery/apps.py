"""Delivery's Django app configuration: it owns connecting the per-site CORS receivers
(`delivery.cors`) and registering delivery's system checks once, when the app is ready."""

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Connect the per-site CORS receivers once, before the first preflight.
        from delivery import checks, cors  # noqa: F401
