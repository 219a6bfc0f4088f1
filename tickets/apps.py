from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from tickets import delivery

        delivery.register_builtin_transports()
