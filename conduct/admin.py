from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from conduct import services
from conduct.models import ConductBlock, ConductFlag, PhotoRequest


@admin.register(ConductFlag)
class ConductFlagAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "customer", "channel", "severity", "created_at", "dismissed_at")
    list_filter = ("severity", "channel")
    search_fields = ("customer__email", "message__body_text")
    raw_id_fields = ("message", "ticket", "customer", "dismissed_by")
    # Flags are written by the screening; the console's "Not abusive" dismisses them.
    readonly_fields = ("message", "ticket", "customer", "channel", "severity", "findings")


@admin.register(ConductBlock)
class ConductBlockAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "channel", "starts_at", "ends_at", "lifted_at", "lifted_by")
    list_filter = ("channel",)
    search_fields = ("customer__email",)
    raw_id_fields = ("customer", "ticket", "lifted_by")
    readonly_fields = ("lifted_at", "lifted_by", "email_notice_at")
    actions = ["lift"]

    @admin.action(description="Lift the selected blocks now")
    def lift(self, request: HttpRequest, queryset: QuerySet[ConductBlock]) -> None:
        actor = request.user
        assert isinstance(actor, User)
        if not actor.is_supervisor and not actor.is_superuser:
            self.message_user(request, "Only supervisors and admins lift blocks.", messages.ERROR)
            return
        lifted = 0
        for block in queryset:
            try:
                lifted += services.block_lift(block=block, actor=actor, reason="lifted in admin")
            except services.ConductActionError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
        self.message_user(request, f"{lifted} block(s) lifted.")


@admin.register(PhotoRequest)
class PhotoRequestAdmin(admin.ModelAdmin):
    list_display = ("ticket", "requested_at")
    raw_id_fields = ("ticket",)
