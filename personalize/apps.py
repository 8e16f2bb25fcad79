from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    name = "personalize"
    verbose_name = "Personalize: sites and access"
    default_auto_field = "django.db.models.BigAutoField"
