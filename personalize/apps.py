from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    """The project package: settings, URLs, Celery, health probes and `seed_demo`. No models."""

    name = "personalize"
    verbose_name = "Personalize"
