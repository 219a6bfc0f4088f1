from django.urls import path

from social import views, webhooks

app_name = "social"

urlpatterns = [
    path("social/webhooks/meta/", webhooks.meta_webhook, name="meta_webhook"),
    path("social/webhooks/tiktok/", webhooks.tiktok_webhook, name="tiktok_webhook"),
    path(
        "console/tickets/<int:ticket_id>/attachments/<int:attachment_id>/retry",
        views.attachment_retry,
        name="attachment_retry",
    ),
]
