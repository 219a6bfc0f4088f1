from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = "Email channel"

    def ready(self) -> None:
        from mail import outbound
        from tickets.choices import Channel
        from tickets.delivery import register_transport

        register_transport(Channel.EMAIL, outbound.smtp_transport)

        from anymail.signals import inbound

        from mail.webhooks import inbound_received

        inbound.connect(inbound_received, dispatch_uid="mail.inbound_received")
