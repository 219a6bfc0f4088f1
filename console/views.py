"""Agent console: the inbox and the ticket page. Views parse, call a service, redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import agent_required, current_user, supervisor_required
from console import selectors as console_selectors
from console.forms import (
    CommentReplyForm,
    EscalationContactForm,
    NoteForm,
    ReplyForm,
    TicketUpdateForm,
)
from core.errors import UserError
from core.forms import apply_service_error
from dataprotection.services import audit_ticket_viewed
from feedback import selectors as feedback_selectors
from macros.services import macro_reply
from mail.display import remote_images_allowed
from notifications.models import Notification
from notifications.services import notifications_mark_read
from policy.loader import get_policy
from sla import selectors as sla_selectors
from sla.models import Escalation, EscalationStatus, SlaClock
from social import selectors as social_selectors
from social import services as social_services
from tickets import collisions, selectors, services
from tickets.choices import DeliveryStatus, Priority, TicketStatus, channel_filter_choices
from tickets.escalation import EscalationError, escalation_record_contact, escalation_request
from tickets.models import OutboundMessage, Ticket
from triage import selectors as triage_selectors
from workload.shifts import ticket_seen

PAGE_SIZE = 25

# The inbox's columns: sort key, heading (and the rest of it for screen readers), and
# the direction of the column's natural order (what an agent wants on top).
INBOX_COLUMNS = [
    ("reference", "Ticket", "", "descending"),
    ("priority", "Prio", "rity", "descending"),
    ("status", "Status", "", "ascending"),
    ("requester", "Requester", "", "ascending"),
    ("category", "Category", "", "ascending"),
    ("channel", "Channel", "", "ascending"),
    ("assignee", "Assignee", "", "ascending"),
    ("updated", "Updated", "", "descending"),
    ("due", "Reply due", "", "ascending"),
]


SORT_OPTIONS = [
    {"value": key if reverse == "" else f"-{key}", "label": f"{label}{rest}{reverse}"}
    for reverse in ("", " (reversed)")
    for key, label, rest, _natural in INBOX_COLUMNS
]


def _sort_columns(sort: str) -> tuple[list[dict[str, str]], str]:
    """Each heading's link (its natural order; the reverse when already sorted by it)
    and ``aria-sort``; and the current order in words, for the table's caption."""
    columns, described = [], ""
    flip = {"ascending": "descending", "descending": "ascending"}
    for key, label, rest, natural in INBOX_COLUMNS:
        aria = ""
        if sort == key:
            aria, following = natural, f"-{key}"
        elif sort == f"-{key}":
            aria, following = flip[natural], key
        else:
            following = key
        if aria:
            described = f"{label}{rest}, {aria}".lower()
        columns.append({"label": label, "sr": rest, "aria": aria, "next": following})
    return columns, described


def _ticket_or_404(request: HttpRequest, ticket_id: int, related: tuple[str, ...] = ()) -> Ticket:
    try:
        return selectors.ticket_get_for_viewer(
            viewer=current_user(request), ticket_id=ticket_id, related=related
        )
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


# The inbox list the agent last looked at: "next ticket in this view" walks it.
INBOX_SESSION_KEY = "console.inbox_query"


@agent_required
def inbox(request: HttpRequest) -> HttpResponse:
    agent = current_user(request)
    inbox = console_selectors.inbox_query(agent=agent, params=request.GET)
    try:
        page = selectors.ticket_list(
            viewer=agent,
            filters=inbox.filters,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
            sort=inbox.sort,
        )
    except selectors.InvalidCursor:
        messages.error(request, "That page link has expired; showing the first page.")
        page = selectors.ticket_list(
            viewer=agent, filters=inbox.filters, limit=PAGE_SIZE, sort=inbox.sort
        )
    prefetch_related_objects(page.tickets, "tags")
    rows = console_selectors.inbox_rows(tickets=page.tickets, agent=agent, view=inbox.view)
    query = request.GET.copy()
    query.pop("cursor", None)
    if request.session.get(INBOX_SESSION_KEY) != query.urlencode():
        request.session[INBOX_SESSION_KEY] = query.urlencode()
    unsorted = query.copy()
    unsorted.pop("sort", None)
    sort_columns, sort_label = _sort_columns(inbox.sort)
    saved_views = console_selectors.saved_views_for(agent=agent)
    counts = selectors.inbox_counts(agent=agent)
    saved_counts = console_selectors.saved_view_counts(agent=agent, views=saved_views)
    context = {
        # The sidebar: each view with its count as the badge says it ("1,000+").
        "views": [
            {
                "key": v.key,
                "label": v.label,
                "count": selectors.count_label(counts[v.key]),
                "spoken": selectors.count_spoken(counts[v.key]),
            }
            for v in selectors.INBOX_VIEWS
        ],
        "current_view": inbox.view,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "unsorted_query": unsorted.urlencode(),
        "sort": inbox.sort,
        "sort_columns": sort_columns,
        "sort_label": sort_label,
        "sort_options": SORT_OPTIONS,
        "policy": get_policy(),
        "channels": channel_filter_choices(),
        "statuses": TicketStatus.choices,
        "priorities": Priority.choices,
        "params": request.GET,
        "first_page": not request.GET.get("cursor"),
        "live_seconds": settings.IZONIE_INBOX_LIVE_SECONDS,
        "saved_views": [
            {
                "view": sv,
                "count": selectors.count_label(saved_counts[sv.pk]),
                "spoken": selectors.count_spoken(saved_counts[sv.pk]),
            }
            for sv in saved_views
        ],
        "current_saved": request.GET.get("saved", ""),
    }
    # htmx swaps only the table; a history restore (back button after the cache was
    # evicted) needs the whole page. Vary keeps browsers from caching one as the other.
    htmx = request.htmx  # type: ignore[attr-defined]  # set by django-htmx's middleware
    partial = bool(htmx) and not htmx.history_restore_request
    template = "console/_ticket_table.html" if partial else "console/inbox.html"
    context["partial"] = partial
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _next_in_view(request: HttpRequest, ticket: Ticket) -> int | None:
    query = request.session.get(INBOX_SESSION_KEY)
    if query is None:
        return None
    return console_selectors.next_in_view(
        agent=current_user(request), query_string=query, current_id=ticket.pk
    )


def _ticket_context(request: HttpRequest, ticket: Ticket, **forms: object) -> dict[str, object]:
    """The ticket page's context; a form given by name (one that failed validation)
    replaces the blank one, and forms the page builds elsewhere (the dispute panel's)
    are passed through."""
    # One read of the social conversation serves its panel and the reply form's choice.
    social_panel = social_selectors.social_panel_for(ticket=ticket)
    thread = console_selectors.ticket_thread(agent=current_user(request), ticket=ticket)
    context: dict[str, object] = {
        "ticket": ticket,
        "thread": thread,
        "history": console_selectors.ticket_history(ticket=ticket),
        # The newest message the page shows: a reply sent after others wrote asks first.
        "seen_message_id": collisions.last_message_id(ticket=ticket, thread=thread),
        "colleagues": collisions.colleagues_on(ticket_id=ticket.pk, agent=current_user(request)),
        "reply_form": forms.get("reply_form")
        or _reply_form(ticket, comments=social_panel is not None and social_panel.is_comments),
        "social_panel": social_panel,
        "note_form": forms.get("note_form") or NoteForm(auto_id="id_note_%s"),
        # Worked out before any action moves this ticket in the list's order.
        "next_in_view": _next_in_view(request, ticket),
        "update_form": forms.get("update_form")
        or TicketUpdateForm(
            initial={
                "status": ticket.status,
                "category": ticket.category,
                "priority": ticket.priority,
                "team": ticket.team,
                "assignee": ticket.assignee_id or "",
            }
        ),
        "escalation": Escalation.objects.filter(ticket=ticket).order_by("-created_at").first(),
        "contact_form": forms.get("contact_form") or EscalationContactForm(),
        "sla_clocks": SlaClock.objects.filter(ticket=ticket).order_by("-started_at")[:10],
        # The order with its return window; says so when the marketplace cannot be asked.
        "order_panel": triage_selectors.order_panel(ticket=ticket, now=timezone.now()),
        "policy": get_policy(),
        "customer_notes": console_selectors.customer_notes(customer=ticket.requester),
        # The ticket's ratings and the requester's latest: its panel and the requester card.
        "ratings": feedback_selectors.ticket_page_ratings(ticket=ticket),
    }
    return {**forms, **context}


@agent_required
@remote_images_allowed
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id, related=console_selectors.TICKET_PAGE_RELATED)
    audit_ticket_viewed(actor=current_user(request), ticket=ticket)
    ticket_seen(agent=current_user(request), ticket=ticket)
    return render(request, "console/ticket.html", _ticket_context(request, ticket))


def _submit(
    request: HttpRequest,
    ticket: Ticket,
    form: forms.Form,
    *,
    form_name: str,
    action: Callable[[dict[str, Any]], object],
    done: str,
    then: str | None = None,
) -> HttpResponse:
    """Run ``action`` with a valid form, then back to the ticket (or on to ``then``);
    otherwise show the ticket again with the form's errors (a service's error beside the
    field it names). The ticket page's htmx forms swap the page they get in place."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except UserError as exc:
            apply_service_error(form, exc)
        except EscalationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, done)
            if then is None:
                return redirect("console:ticket", ticket_id=ticket.pk)
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponseClientRedirect(then)
            return redirect(then)
    messages.error(request, "Nothing was saved: please correct the form below.")
    context = _ticket_context(request, ticket, **{form_name: form})
    return render(request, "console/ticket.html", context, status=400)


def _reply_form(ticket: Ticket, *args: Any, comments: bool | None = None) -> ReplyForm:
    """Public comments get the public / private choice (and no files). ``comments``
    says so when the caller has read the ticket's social conversation already."""
    if comments is None:
        comments = social_selectors.is_comment_conversation(ticket=ticket)
    return CommentReplyForm(*args) if comments else ReplyForm(*args)


@agent_required
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    seen = request.POST.get("seen_message", "")
    if seen.isdigit() and not request.POST.get("confirm_newer"):
        newer = collisions.written_since(
            ticket=ticket, seen_id=int(seen), agent=current_user(request)
        )
        if newer:
            # Someone wrote since the page was loaded: show it and ask before sending.
            context = _ticket_context(
                request, ticket, reply_form=_reply_form(ticket, request.POST), written_since=newer
            )
            return render(request, "console/ticket.html", context, status=409)
    form = _reply_form(ticket, request.POST, request.FILES)
    then = _then_next(request, ticket) if request.POST.get("then") == "next" else None
    if isinstance(form, CommentReplyForm):
        return _submit(
            request,
            ticket,
            form,
            form_name="reply_form",
            action=lambda data: social_services.social_comment_reply(
                ticket=ticket,
                author=current_user(request),
                body=data["body"],
                visibility=data["visibility"],
                status=data["status"] or None,
            ),
            done="Reply queued for delivery.",
            then=then,
        )
    return _submit(
        request,
        ticket,
        form,
        form_name="reply_form",
        action=lambda data: macro_reply(
            ticket=ticket,
            author=current_user(request),
            body=data["body"],
            uploads=data["photos"],
            status=data["status"] or None,
            macro_id=request.POST.get("macro", ""),
        ),
        done="Reply queued for delivery.",
        then=then,
    )


@agent_required
@require_POST
def ticket_note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    return _submit(
        request,
        ticket,
        NoteForm(request.POST, auto_id="id_note_%s"),
        form_name="note_form",
        action=lambda data: services.ticket_add_note(
            ticket=ticket, author=current_user(request), body=data["body"]
        ),
        done="Note added.",
    )


def _then_next(request: HttpRequest, ticket: Ticket) -> str:
    """Where "send and go to the next ticket" goes: the one the page showed as next in
    the agent's list, else the most urgent waiting one."""
    raw = request.POST.get("next_in_view", "")
    if raw.isdigit() and int(raw) != ticket.pk:
        try:
            following = selectors.ticket_get_for_viewer(
                viewer=current_user(request), ticket_id=int(raw)
            )
        except Ticket.DoesNotExist:
            pass
        else:
            return reverse("console:ticket", args=[following.pk])
    return f"{reverse('console:next_ticket')}?after={ticket.pk}"


@agent_required
@require_POST
def ticket_quick(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One-click actions (and their shortcuts): assign to me, solve."""
    ticket = _ticket_or_404(request, ticket_id)
    agent = current_user(request)
    action = request.POST.get("action", "")
    try:
        if action == "assign_me":
            services.ticket_update(ticket=ticket, actor=agent, assignee=agent)
            messages.success(request, "Assigned to you.")
        elif action == "solve":
            services.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)
            messages.success(request, "Ticket solved.")
        else:
            messages.error(request, "Unknown action.")
    except UserError as exc:
        messages.error(request, f"Nothing was changed: {exc.message}")
    return redirect("console:ticket", ticket_id=ticket.pk)


@agent_required
@require_POST
def ticket_update(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)

    def update(data: dict[str, Any]) -> None:
        assignee = (
            selectors.agents_for_assignment().filter(pk=data["assignee"]).first()
            if data["assignee"]
            else None
        )
        services.ticket_update(
            ticket=ticket,
            actor=current_user(request),
            status=data["status"],
            category=data["category"] or None,
            priority=data["priority"],
            team=data["team"],
            assignee=assignee,
        )

    return _submit(
        request,
        ticket,
        TicketUpdateForm(request.POST),
        form_name="update_form",
        action=update,
        done="Ticket updated.",
    )


@agent_required
@require_POST
def delivery_retry(request: HttpRequest, ticket_id: int, outbound_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    outbound = get_object_or_404(OutboundMessage, pk=outbound_id, message__ticket=ticket)
    if outbound.status == DeliveryStatus.FAILED:
        services.outbound_retry(outbound=outbound, actor=current_user(request))
        messages.success(request, "Delivery will be tried again.")
    return redirect("console:ticket", ticket_id=ticket.pk)


@supervisor_required
@require_POST
def escalation_contact(request: HttpRequest, ticket_id: int, escalation_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    escalation = get_object_or_404(Escalation, pk=escalation_id, ticket=ticket)
    if escalation.status != EscalationStatus.OPEN:
        # A second submit (or a colleague was quicker): nothing left to record.
        messages.info(request, "This escalation was already answered.")
        return redirect("console:ticket", ticket_id=ticket.pk)
    return _submit(
        request,
        ticket,
        EscalationContactForm(request.POST),
        form_name="contact_form",
        action=lambda data: escalation_record_contact(
            escalation=escalation,
            supervisor=current_user(request),
            summary=data["summary"],
            outcome=data["outcome"],
        ),
        done="Contact recorded; the escalation is answered.",
    )


@agent_required
@require_POST
def ticket_escalate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """An agent escalates on the customer's behalf (they asked on the phone, say)."""
    ticket = _ticket_or_404(request, ticket_id)
    _escalation, created = escalation_request(
        ticket=ticket,
        requested_by=current_user(request),
        channel=ticket.channel,
        reason=request.POST.get("reason", ""),
    )
    if created:
        messages.success(request, "Escalated to the supervisors; the customer was told.")
    else:
        messages.info(request, "This ticket is already escalated.")
    return redirect("console:ticket", ticket_id=ticket.pk)


@agent_required
def sla_board(request: HttpRequest) -> HttpResponse:
    """Running clocks, the soonest due first: what is about to break a promise."""
    return render(
        request,
        "console/sla_board.html",
        {"rows": sla_selectors.clocks_due_soon(now=timezone.now(), limit=200)},
    )


@agent_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The agent's notifications, newest first; opening the page marks them read."""
    user = current_user(request)
    rows = list(
        Notification.objects.filter(recipient=user)
        .select_related("ticket")
        .order_by("-created_at")[:100]
    )
    notifications_mark_read(user=user)
    return render(request, "console/notifications.html", {"notifications": rows})


@supervisor_required
def escalations(request: HttpRequest) -> HttpResponse:
    queue = (
        Escalation.objects.filter(status=EscalationStatus.OPEN)
        .select_related("ticket", "ticket__requester")
        .order_by("contact_due_at")[:200]
    )
    return render(request, "console/escalations.html", {"escalations": queue})
