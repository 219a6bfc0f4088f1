from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Live chat"

    def ready(self) -> None:
        from chat.delivery import chat_transport
        from tickets.choices import Channel
        from tickets.delivery import register_transport

        register_transport(Channel.LIVE_CHAT, chat_transport)
