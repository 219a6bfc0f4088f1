"""Bulk actions from the inbox: assign, change status, category, priority or team of
the selected tickets, and add tags to them."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from core.errors import UserError
from policy.loader import get_policy
from tickets import selectors, services
from tickets.choices import Priority, TicketStatus
from tickets.tagging import tag_names, ticket_tags_add

MAX_TICKETS = 200
UNASSIGN = "none"


@agent_required
@require_POST
def bulk_update(request: HttpRequest) -> HttpResponse:
    agent = current_user(request)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    ids = [int(raw) for raw in request.POST.getlist("ticket")[:MAX_TICKETS] if raw.isdigit()]
    status = request.POST.get("status", "")
    raw_assignee = request.POST.get("assignee", "")
    changes: dict[str, object] = {}
    if status in TicketStatus.values:
        changes["status"] = status
    policy = get_policy()
    category = request.POST.get("category", "")
    if category in {c.key for c in policy.categories}:
        changes["category"] = category
    priority = request.POST.get("priority", "")
    if priority in Priority.values:
        changes["priority"] = priority
    team = request.POST.get("team", "")
    if team in {t.key for t in policy.teams}:
        changes["team"] = team
    tags = tag_names(request.POST.get("tags", "")[:500])
    if raw_assignee == UNASSIGN:
        changes["assignee"] = None
    elif raw_assignee.isdigit():
        assignee = selectors.agents_for_assignment().filter(pk=int(raw_assignee)).first()
        if assignee is None:
            messages.error(request, "Choose an active agent to assign to.")
            return redirect(back or "console:inbox")
        changes["assignee"] = assignee
    if not ids or not (changes or tags):
        messages.error(request, "Select tickets and a change to apply to them.")
        return redirect(back or "console:inbox")
    tickets = list(selectors.tickets_visible_to(agent).filter(pk__in=ids).order_by("pk"))
    try:
        # All or none: a refused change leaves every selected ticket as it was.
        with transaction.atomic():
            for ticket in tickets:
                if changes:
                    services.ticket_update(ticket=ticket, actor=agent, **changes)  # type: ignore[arg-type]
            ticket_tags_add(tickets=tickets, actor=agent, names=tags)
    except UserError as exc:
        messages.error(request, f"Nothing was changed: {exc.message}")
    else:
        messages.success(
            request, f"{len(tickets)} ticket{'s' if len(tickets) != 1 else ''} updated."
        )
    return redirect(back or "console:inbox")
