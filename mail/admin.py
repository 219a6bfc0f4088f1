from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mail.intake import inbound_retry
from mail.models import AutoAcknowledgement, ImapMailboxState, InboundEmail, InboundStatus


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "received_at",
        "sender",
        "sender_verified",
        "subject",
        "status",
        "reason",
        "ticket",
    )
    list_filter = ("status", "source", "sender_verified")
    search_fields = ("sender", "subject", "header_id")
    readonly_fields = (
        "header_id",
        "sender",
        "subject",
        "source",
        "status",
        "reason",
        "ticket",
        "message",
        "received_at",
        "sender_verified",
        "authentication",
    )
    exclude = ("raw",)
    actions = ["retry"]

    @admin.action(description="Retry the selected quarantined emails")
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        retried = 0
        for record in queryset.filter(status=InboundStatus.QUARANTINED):
            inbound_retry(record=record)
            retried += 1
        messages.info(request, f"Retried {retried} quarantined email(s).")


@admin.register(ImapMailboxState)
class ImapMailboxStateAdmin(admin.ModelAdmin):
    """Where the IMAP fetcher is in each folder; read-only (the fetcher owns it)."""

    list_display = ("mailbox", "uidvalidity", "last_uid", "updated_at")
    readonly_fields = ("mailbox", "uidvalidity", "last_uid", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AutoAcknowledgement)
class AutoAcknowledgementAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "ticket")
    search_fields = ("recipient",)
    readonly_fields = ("recipient", "ticket", "message", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
