from django.urls import path

from mail import webhooks

app_name = "mail"

urlpatterns = [
    path("mail/inbound/mailgun/", webhooks.MailgunInbound.as_view(), name="inbound_mailgun"),
    path("mail/inbound/sendgrid/", webhooks.SendGridInbound.as_view(), name="inbound_sendgrid"),
    path("mail/inbound/postmark/", webhooks.PostmarkInbound.as_view(), name="inbound_postmark"),
    path("mail/inbound/amazon-ses/", webhooks.amazon_ses_inbound, name="inbound_amazon_ses"),
]
