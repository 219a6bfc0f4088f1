"""Agent console: the inbox and the ticket page. Views parse, call a service, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user, supervisor_required
from console.forms import EscalationContactForm, NoteForm, ReplyForm, TicketUpdateForm
from core.forms import apply_service_error
from policy.loader import get_policy
from sla import selectors as sla_selectors
from sla.escalation import EscalationError, escalation_record_contact, escalation_request
from sla.models import Escalation, EscalationStatus, SlaClock
from tickets import selectors, services
from tickets.choices import Channel, DeliveryStatus, TicketStatus
from tickets.exceptions import TicketError
from tickets.models import OutboundMessage, Ticket

PAGE_SIZE = 25


def _ticket_or_404(request: HttpRequest, ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_get_for_viewer(viewer=current_user(request), ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


@agent_required
def inbox(request: HttpRequest) -> HttpResponse:
    agent = current_user(request)
    view = request.GET.get("view", "open")
    if view not in {v.key for v in selectors.INBOX_VIEWS}:
        view = "open"
    filters = selectors.inbox_filters(agent=agent, view=view)
    category = request.GET.get("category", "")
    if category:
        filters.category = "" if category == "none" else category
    filters.channel = request.GET.get("channel") or None
    filters.team = request.GET.get("team") or None
    status = request.GET.get("status", "")
    if status in TicketStatus.values:
        filters.status = [status]
    filters.text = request.GET.get("q", "")[:200]
    try:
        page = selectors.ticket_list(
            viewer=agent,
            filters=filters,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except selectors.InvalidCursor:
        messages.error(request, "That page link has expired; showing the first page.")
        page = selectors.ticket_list(viewer=agent, filters=filters, limit=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "views": selectors.INBOX_VIEWS,
        "current_view": view,
        "counts": selectors.inbox_counts(agent=agent),
        "page": page,
        "query": query.urlencode(),
        "policy": get_policy(),
        "channels": Channel.choices,
        "statuses": TicketStatus.choices,
        "params": request.GET,
        "first_page": not request.GET.get("cursor"),
    }
    partial = getattr(request, "htmx", False)  # set by django-htmx's middleware
    template = "console/_ticket_table.html" if partial else "console/inbox.html"
    return render(request, template, context)


def _ticket_context(request: HttpRequest, ticket: Ticket, **forms: object) -> dict[str, object]:
    return {
        "ticket": ticket,
        "thread": selectors.messages_for_viewer(viewer=current_user(request), ticket=ticket),
        "events": ticket.events.select_related("actor").order_by("-created_at", "-id")[:50],
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "note_form": forms.get("note_form") or NoteForm(),
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
        "order": selectors.order_for_agent(ticket=ticket),
        "policy": get_policy(),
    }


@agent_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    return render(request, "console/ticket.html", _ticket_context(request, ticket))


@agent_required
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_reply(
                ticket=ticket,
                author=current_user(request),
                body=form.cleaned_data["body"],
                uploads=form.cleaned_data["photos"],
                status=form.cleaned_data["status"] or None,
            )
        except TicketError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Reply queued for delivery.")
            return redirect("console:ticket", ticket_id=ticket.pk)
    return render(
        request,
        "console/ticket.html",
        _ticket_context(request, ticket, reply_form=form),
        status=400,
    )


@agent_required
@require_POST
def ticket_note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_add_note(
                ticket=ticket,
                author=current_user(request),
                body=form.cleaned_data["body"],
            )
        except TicketError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Note added.")
            return redirect("console:ticket", ticket_id=ticket.pk)
    return render(
        request, "console/ticket.html", _ticket_context(request, ticket, note_form=form), status=400
    )


@agent_required
@require_POST
def ticket_update(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    form = TicketUpdateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        assignee = (
            selectors.agents_for_assignment().filter(pk=data["assignee"]).first()
            if data["assignee"]
            else None
        )
        try:
            services.ticket_update(
                ticket=ticket,
                actor=current_user(request),
                status=data["status"],
                category=data["category"] or None,
                priority=data["priority"],
                team=data["team"],
                assignee=assignee,
            )
        except TicketError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Ticket updated.")
            return redirect("console:ticket", ticket_id=ticket.pk)
    return render(
        request,
        "console/ticket.html",
        _ticket_context(request, ticket, update_form=form),
        status=400,
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
    form = EscalationContactForm(request.POST)
    if form.is_valid():
        try:
            escalation_record_contact(
                escalation=escalation,
                supervisor=current_user(request),
                summary=form.cleaned_data["summary"],
                outcome=form.cleaned_data["outcome"],
            )
        except EscalationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Contact recorded; the escalation is answered.")
            return redirect("console:ticket", ticket_id=ticket.pk)
    return render(
        request,
        "console/ticket.html",
        _ticket_context(request, ticket, contact_form=form),
        status=400,
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


@supervisor_required
def escalations(request: HttpRequest) -> HttpResponse:
    queue = (
        Escalation.objects.filter(status=EscalationStatus.OPEN)
        .select_related("ticket", "ticket__requester")
        .order_by("contact_due_at")[:200]
    )
    return render(request, "console/escalations.html", {"escalations": queue})
