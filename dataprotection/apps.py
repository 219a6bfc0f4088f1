from django.apps import AppConfig


class DataProtectionConfig(AppConfig):
    name = "dataprotection"
    verbose_name = "Data protection"
    default_auto_field = "django.db.models.BigAutoField"
