from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "social"
    verbose_name = "Social channels"

    def ready(self) -> None:
        from social.transports import meta_transport, tiktok_transport
        from tickets.choices import Channel
        from tickets.delivery import register_transport

        register_transport(Channel.FACEBOOK, meta_transport)
        register_transport(Channel.INSTAGRAM, meta_transport)
        register_transport(Channel.TIKTOK, tiktok_transport)
