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

        from feedback.requests import register_rating_request
        from social.services import social_rating_request

        for channel in (Channel.FACEBOOK, Channel.INSTAGRAM, Channel.TIKTOK):
            register_rating_request(channel, social_rating_request)

        from django.db.models.signals import post_delete, post_save

        from social.models import SocialAccount

        post_save.connect(_forget_secrets, sender=SocialAccount, dispatch_uid="social-secrets")
        post_delete.connect(_forget_secrets, sender=SocialAccount, dispatch_uid="social-secrets")


def _forget_secrets(**kwargs: object) -> None:
    from social.selectors import forget_webhook_secrets

    forget_webhook_secrets()
