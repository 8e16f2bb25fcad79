from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Sites and access"
    default_auto_field = "django.db.models.BigAutoField"
