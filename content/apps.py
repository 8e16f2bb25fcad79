"""The content app's configuration: connects its signal receivers (`content.receivers`) when
Django starts.
"""

from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "content"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from content import receivers  # noqa: F401  (connect signal handlers)
