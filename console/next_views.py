"""'Next ticket': the agent's most urgent waiting ticket after the one they are on."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.decorators import agent_required, current_user
from tickets.choices import ACTIVE_STATUSES
from tickets.models import Ticket


@agent_required
def next_ticket(request: HttpRequest) -> HttpResponse:
    """Mine first, then unassigned; soonest reply due first (none due last)."""
    agent = current_user(request)
    after = request.GET.get("after", "")
    candidates = Ticket.objects.filter(status__in=ACTIVE_STATUSES).filter(
        Q(assignee=agent) | Q(assignee__isnull=True)
    )
    if after.isdigit():
        candidates = candidates.exclude(pk=int(after))
    for scope in (Q(assignee=agent), Q(assignee__isnull=True)):
        ticket = (
            candidates.filter(scope)
            .order_by(F("first_reply_due_at").asc(nulls_last=True), "updated_at", "pk")
            .first()
        )
        if ticket is not None:
            return redirect("console:ticket", ticket_id=ticket.pk)
    messages.info(request, "Nothing else waits for you or in the unassigned queue.")
    return redirect("console:inbox")
