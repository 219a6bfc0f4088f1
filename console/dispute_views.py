"""Agents' dispute actions on the ticket page: open, write to the seller, decide."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from console.views import _submit, _ticket_or_404
from disputes import services
from disputes.forms import DisputeOpenForm, OutcomeForm, SellerMessageForm
from disputes.models import Dispute, SellerNotice
from tickets.models import Ticket


def _dispute(ticket: Ticket) -> Dispute:
    dispute = Dispute.objects.filter(ticket=ticket).first()
    if dispute is None:
        raise Http404("This ticket is not a dispute.")
    return dispute


@agent_required
@require_POST
def dispute_open(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    return _submit(
        request,
        ticket,
        DisputeOpenForm(request.POST),
        form_name="dispute_open_form",
        action=lambda data: services.dispute_open(
            ticket=ticket, actor=current_user(request), claim=data["claim"]
        ),
        done="Dispute opened; the seller is notified by email.",
    )


@agent_required
@require_POST
def dispute_message(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    dispute = _dispute(ticket)
    return _submit(
        request,
        ticket,
        SellerMessageForm(request.POST),
        form_name="seller_message_form",
        action=lambda data: services.dispute_message_seller(
            dispute=dispute, actor=current_user(request), body=data["body"]
        ),
        done="Message sent to the seller.",
    )


@agent_required
@require_POST
def dispute_resolve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    dispute = _dispute(ticket)
    return _submit(
        request,
        ticket,
        OutcomeForm(request.POST),
        form_name="outcome_form",
        action=lambda data: services.dispute_resolve(
            dispute=dispute,
            actor=current_user(request),
            outcome=data["outcome"],
            amount=data["amount"] or None,
            reason=data["reason"],
        ),
        done="Outcome recorded and sent to the buyer and the seller.",
    )


@agent_required
@require_POST
def notice_retry(request: HttpRequest, ticket_id: int, notice_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    notice = get_object_or_404(SellerNotice, pk=notice_id, dispute__ticket=ticket)
    services.seller_notice_retry(notice=notice)
    messages.success(request, "The email to the seller will be sent again.")
    return redirect("console:ticket", ticket_id=ticket.pk)
