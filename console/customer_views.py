"""Notes about a customer, written from one of their tickets, shown on all of them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from console import services
from console.models import CustomerNote
from console.views import _ticket_or_404


@agent_required
@require_POST
def customer_note_add(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    try:
        services.customer_note_add(
            customer=ticket.requester,
            author=current_user(request),
            body=request.POST.get("body", ""),
            ticket=ticket,
        )
    except ValidationError:
        messages.error(request, "Write the note (up to 2,000 characters).")
    else:
        messages.success(request, f"Note kept on {ticket.requester}.")
    return redirect("console:ticket", ticket_id=ticket.pk)


@agent_required
@require_POST
def customer_note_delete(request: HttpRequest, ticket_id: int, note_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    note = get_object_or_404(CustomerNote, pk=note_id, customer=ticket.requester)
    services.customer_note_delete(note=note, actor=current_user(request), ticket=ticket)
    messages.success(request, "Note deleted.")
    return redirect("console:ticket", ticket_id=ticket.pk)
