import os
import sys

from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    """The project package: settings, URLs, Celery, health probes, `seed_demo` and the
    embedded scheduler of `make run`. No models."""

    name = "personalize"
    verbose_name = "Personalize"

    def ready(self) -> None:
        from analytics.suggestions.services import suggestions_run_on_threads
        from personalize.scheduler.embedded import embedded_scheduler_start
        from segments.services.jobs import segment_jobs_run_on_threads

        if embedded_scheduler_start(argv=sys.argv, environ=os.environ):
            # The same serving process runs segment upload/export jobs on threads, so
            # their progress shows while they run (a worker does it with a broker).
            segment_jobs_run_on_threads(enabled=True)
            suggestions_run_on_threads(enabled=True)  # segment suggestion runs too
