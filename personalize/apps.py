from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    name = "personalize"
    verbose_name = "Personalize: sites and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the per-site CORS receivers before the first preflight, not on URL load.
        import personalize.cors  # noqa: F401
