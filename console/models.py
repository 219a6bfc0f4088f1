"""What agents keep in the console: saved views of the inbox and notes on customers."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """An inbox list (view, filters and sort, as the inbox's query string) under a name:
    the owner's own, or shared with every agent."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    shared = models.BooleanField(default=False)
    query = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["owner", "name"], name="savedview_owner_name")]

    def __str__(self) -> str:
        return self.name


class CustomerNote(models.Model):
    """What agents should know about a customer, shown on every ticket of theirs."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="customernote_recent"),
        ]

    def __str__(self) -> str:
        return self.body[:40]
