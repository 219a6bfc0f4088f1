from django.contrib import admin

from tickets.models import Attachment, Message, OutboundMessage, Party, Tag, Ticket, TicketEvent


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "direction", "kind", "author", "channel", "body_text")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "requester", "channel", "category", "status", "assignee")
    list_filter = ("status", "channel", "category", "priority", "kind")
    search_fields = ("subject", "order_number", "requester__email")
    raw_id_fields = ("requester", "assignee")
    inlines = [MessageInline]
    # Changes made through the admin skip services (events, clocks): read-only here.
    readonly_fields = ("status", "category", "assignee", "team", "created_at", "updated_at")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "direction", "kind", "channel", "created_at")
    raw_id_fields = ("ticket", "author")


admin.site.register(Attachment)
admin.site.register(Party)
admin.site.register(Tag)


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "kind", "actor", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("ticket", "actor")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "message", "channel", "status", "attempts", "last_error")
    list_filter = ("status", "channel")
    raw_id_fields = ("message",)
