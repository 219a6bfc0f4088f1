"""Agents' dispute actions on the ticket page: open, write to the seller, decide."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from console.views import _submit, _ticket_context, _ticket_or_404
from core.errors import UserError
from core.forms import apply_service_error
from disputes import services
from disputes.forms import DisputeOpenForm, DisputeSendForm, OutcomeForm, SellerMessageForm
from disputes.models import Dispute, SellerNotice
from tickets.models import Ticket


def _dispute(ticket: Ticket) -> Dispute:
    dispute = Dispute.objects.filter(ticket=ticket).first()
    if dispute is None:
        raise Http404("This ticket is not a dispute.")
    return dispute


@agent_required
@require_POST
def dispute_preview(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Step one: the ticket page again, with the claim as the seller would read it in an
    editable box; nothing is sent yet."""
    ticket = _ticket_or_404(request, ticket_id)
    form = DisputeOpenForm(request.POST)
    if form.is_valid():
        try:
            claim = services.dispute_claim_preview(ticket=ticket, claim=form.cleaned_data["claim"])
        except UserError as exc:
            apply_service_error(form, exc)
        else:
            send_form = DisputeSendForm(initial={"claim": claim})
            context = _ticket_context(request, ticket, dispute_send_form=send_form)
            return render(request, "console/ticket.html", context)
    messages.error(request, "Nothing was saved: please correct the form below.")
    context = _ticket_context(request, ticket, dispute_open_form=form)
    return render(request, "console/ticket.html", context, status=400)


@agent_required
@require_POST
def dispute_open(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Step two: the claim the agent approved (redacted again by the service)."""
    ticket = _ticket_or_404(request, ticket_id)
    return _submit(
        request,
        ticket,
        DisputeSendForm(request.POST),
        form_name="dispute_send_form",
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
