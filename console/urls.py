from django.urls import path

from console import (
    bulk_views,
    collision_views,
    customer_views,
    dispute_views,
    macro_views,
    mail_views,
    merge_views,
    next_views,
    saved_view_views,
    search_views,
    shift_views,
    tag_views,
    triage_views,
    views,
    workload_views,
)

app_name = "console"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("search", search_views.search, name="search"),
    path("bulk", bulk_views.bulk_update, name="bulk"),
    path("next", next_views.next_ticket, name="next_ticket"),
    path("merge", merge_views.tickets_merge_selected, name="merge_selected"),
    path("tickets/<int:ticket_id>/merge", merge_views.ticket_merge, name="merge"),
    path("escalations/", views.escalations, name="escalations"),
    path("sla/", views.sla_board, name="sla_board"),
    path("notifications/", views.notifications, name="notifications"),
    path("triage/", triage_views.triage, name="triage"),
    path(
        "triage/<int:ticket_id>/categorise",
        triage_views.triage_categorise,
        name="triage_categorise",
    ),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/reply", views.ticket_reply, name="reply"),
    path(
        "tickets/<int:ticket_id>/presence", collision_views.ticket_presence, name="ticket_presence"
    ),
    path("tickets/<int:ticket_id>/note", views.ticket_note, name="note"),
    path("tickets/<int:ticket_id>/update", views.ticket_update, name="update"),
    path("tickets/<int:ticket_id>/quick", views.ticket_quick, name="quick"),
    path("tickets/<int:ticket_id>/tags", tag_views.ticket_tags_add_view, name="tags_add"),
    path(
        "tickets/<int:ticket_id>/tags/remove", tag_views.ticket_tag_remove_view, name="tag_remove"
    ),
    path(
        "tickets/<int:ticket_id>/customer-notes",
        customer_views.customer_note_add,
        name="customer_note_add",
    ),
    path(
        "tickets/<int:ticket_id>/customer-notes/<int:note_id>/delete",
        customer_views.customer_note_delete,
        name="customer_note_delete",
    ),
    path("views/", saved_view_views.saved_view_create, name="saved_view_create"),
    path(
        "views/<int:view_id>/delete", saved_view_views.saved_view_delete, name="saved_view_delete"
    ),
    path("tickets/<int:ticket_id>/escalate", views.ticket_escalate, name="escalate"),
    path(
        "tickets/<int:ticket_id>/deliveries/<int:outbound_id>/retry",
        views.delivery_retry,
        name="delivery_retry",
    ),
    path(
        "tickets/<int:ticket_id>/escalations/<int:escalation_id>/contact",
        views.escalation_contact,
        name="escalation_contact",
    ),
    path(
        "tickets/<int:ticket_id>/dispute/preview",
        dispute_views.dispute_preview,
        name="dispute_preview",
    ),
    path("tickets/<int:ticket_id>/dispute", dispute_views.dispute_open, name="dispute_open"),
    path(
        "tickets/<int:ticket_id>/dispute/message",
        dispute_views.dispute_message,
        name="dispute_message",
    ),
    path(
        "tickets/<int:ticket_id>/dispute/outcome",
        dispute_views.dispute_resolve,
        name="dispute_resolve",
    ),
    path(
        "tickets/<int:ticket_id>/dispute/notices/<int:notice_id>/retry",
        dispute_views.notice_retry,
        name="dispute_notice_retry",
    ),
    path("workload/", workload_views.workload, name="workload"),
    path("macros/", macro_views.macros, name="macros"),
    path("mail/", mail_views.other_mail, name="other_mail"),
    path("mail/<int:mail_id>/", mail_views.other_mail_detail, name="other_mail_detail"),
    path("macros.json", macro_views.macros_json, name="macros_json"),
    path("macros/<int:macro_id>/", macro_views.macro_edit, name="macro_edit"),
    path("macros/<int:macro_id>/delete", macro_views.macro_remove, name="macro_delete"),
    path("shift/end", shift_views.shift_end, name="shift_end"),
    path("shift/start", shift_views.shift_start, name="shift_start"),
    path(
        "workload/tickets/<int:ticket_id>/override",
        workload_views.override,
        name="workload_override",
    ),
]
