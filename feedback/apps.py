from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        from feedback.requests import register_builtin_rating_requests

        register_builtin_rating_requests()
