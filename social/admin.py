"""Admin for social accounts. Tokens and secrets are write-only: the form never shows
them again (a blank field keeps the stored value), and the list shows only whether
each is set."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from social.models import InboundEvent, SocialAccount, SocialContact, WebhookDelivery

SECRET_FIELDS = ("access_token", "app_secret", "verify_token")
KEEP = "Not shown again once saved; leave blank to keep the current one."


class SocialAccountForm(forms.ModelForm):
    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Page access token (Meta) or business access token (TikTok). " + KEEP,
    )
    app_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Meta app secret or TikTok client secret: the webhook signature key. " + KEEP,
    )
    verify_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="What Meta's subscription check must send as hub.verify_token. " + KEEP,
    )

    class Meta:
        model = SocialAccount
        fields = ("platform", "external_id", "name", *SECRET_FIELDS, "active")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                # Blank means "unchanged": keep what is stored.
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    form = SocialAccountForm
    list_display = ("name", "platform", "external_id", "active", "token_set", "secret_set")
    list_filter = ("platform", "active")

    @admin.display(boolean=True, description="access token set")
    def token_set(self, account: SocialAccount) -> bool:
        return bool(account.access_token)

    @admin.display(boolean=True, description="app secret set")
    def secret_set(self, account: SocialAccount) -> bool:
        return bool(account.app_secret)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "event_count", "status", "received_at", "processed_at")
    list_filter = ("source", "status")
    exclude = ("body",)
    readonly_fields = ("source", "event_count", "status", "received_at", "processed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "platform", "kind", "outcome", "reason", "ticket")
    list_filter = ("platform", "kind", "outcome")
    search_fields = ("key", "sender_id")
    readonly_fields = [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SocialContact)
class SocialContactAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "sender_id", "last_inbound_at")
    search_fields = ("name", "sender_id")
    readonly_fields = (
        "account",
        "sender_id",
        "conversation_id",
        "user",
        "last_inbound_at",
        "last_read_at",
    )
