from django.apps import AppConfig


class ConductConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conduct"
    verbose_name = "Code of conduct"

    def startup_load(self) -> None:
        """Called by ``core.startup`` in long-running processes only."""
        from conduct.screening import model_preload

        model_preload()
