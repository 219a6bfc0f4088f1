"""Admin: the audit log (read-only), and the customer export and erasure actions that
accounts.admin adds to the user list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.models import User
from dataprotection.models import AuditEntry
from dataprotection.services import (
    ErasureBlocked,
    customer_erase,
    customer_export,
    erasure_blockers,
)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "subject", "ticket_id", "detail")
    list_filter = ("action",)
    search_fields = ("actor__username", "subject__username", "=ticket_id")
    date_hierarchy = "at"
    list_select_related = ("actor", "subject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


@admin.action(description="Export the customer's data (one selected account)")
def export_customer_data(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[User]
) -> HttpResponse | None:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one account to export.", messages.ERROR)
        return None
    customer = queryset.get()
    archive = customer_export(customer=customer, actor=request.user)  # type: ignore[arg-type]
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="izonie-data-{customer.pk}.zip"'
    return response


@admin.action(description="Erase the customer's personal data (one selected account)")
def erase_customer_data(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[User]
) -> HttpResponse | None:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one account to erase.", messages.ERROR)
        return None
    customer = queryset.get()
    blockers = erasure_blockers(customer=customer)
    if request.POST.get("confirm") == "yes" and not blockers:
        reason = request.POST.get("reason", "").strip() or "the customer's request"
        try:
            report = customer_erase(
                customer=customer,
                actor=request.user,  # type: ignore[arg-type]
                reason=reason,
            )
        except ErasureBlocked as exc:
            blockers = exc.reasons
        else:
            modeladmin.message_user(
                request,
                f"Erased account {customer.pk}: {report.tickets} requests kept without personal "
                f"data, {report.messages_cleaned} messages cleaned, "
                f"{report.attachments_deleted} attachments deleted.",
                messages.SUCCESS,
            )
            return None
    return TemplateResponse(
        request,
        "dataprotection/erase_confirm.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase a customer's personal data",
            "customer": customer,
            "blockers": blockers,
            "opts": modeladmin.model._meta,
        },
    )
