from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Izonie Support core"

    def ready(self) -> None:
        from django.core import checks

        from core import sqlite_limits
        from core.throttle import check_rates

        # Batches write one multi-row statement per table (docs/write_path.md).
        sqlite_limits.connect()

        # A mistyped limit is a start-up error, not a 500 on the first contact form.
        checks.register(check_rates)
