import os
import sys

from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    """The project package: settings, URLs, Celery, health probes, `seed_demo` and the
    embedded scheduler of `make run`. No models."""

    name = "personalize"
    verbose_name = "Personalize"

    def ready(self) -> None:
        from personalize.scheduler.embedded import embedded_scheduler_start

        embedded_scheduler_start(argv=sys.argv, environ=os.environ)
