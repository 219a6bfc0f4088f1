from django.urls import path

from social import webhooks

app_name = "social"

urlpatterns = [
    path("social/webhooks/meta/", webhooks.meta_webhook, name="meta_webhook"),
    path("social/webhooks/tiktok/", webhooks.tiktok_webhook, name="tiktok_webhook"),
]
