from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Izonie Support core"

    def ready(self) -> None:
        from django.core import checks

        from core.throttle import check_rates

        # A mistyped limit is a start-up error, not a 500 on the first contact form.
        checks.register(check_rates)
