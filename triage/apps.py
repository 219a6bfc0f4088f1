from django.apps import AppConfig


class TriageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "triage"
    verbose_name = "Triage"

    def startup_load(self) -> None:
        """Called by ``core.startup`` in long-running processes only."""
        from triage.services import classifier_preload

        classifier_preload()
