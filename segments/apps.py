from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from segments import dbfunctions, receivers  # noqa: F401  (connect signal handlers)
        from segments.criteria import set_sql_compiler
        from segments.sql import to_q

        # The criteria package knows no Django: give Rule.to_q() the ORM compiler here.
        set_sql_compiler(to_q)
