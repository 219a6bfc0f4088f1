from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = "Support policy"

    def ready(self) -> None:
        from policy import checks  # noqa: F401  (registers the start-up check)
