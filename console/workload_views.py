"""The workload page: who is available, how loaded, what was reassigned and why; a
supervisor overrides a reassignment from here."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user, supervisor_required
from accounts.models import STAFF_ROLES, User
from core.errors import UserError
from tickets.models import Ticket
from tickets.selectors import agents_for_assignment
from workload import selectors, services


@agent_required
def workload(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/workload.html",
        {
            "loads": selectors.agent_loads(),
            "reassignments": selectors.reassignments_recent(),
            "agents": agents_for_assignment(),
        },
    )


@supervisor_required
@require_POST
def override(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("No such ticket.")
    raw = request.POST.get("agent", "")
    agent = (
        User.objects.filter(pk=int(raw), role__in=STAFF_ROLES).first() if raw.isdigit() else None
    )
    if agent is None:
        messages.error(request, "Choose an agent to give the ticket to.")
        return redirect("console:workload")
    try:
        services.assignment_override(ticket=ticket, supervisor=current_user(request), agent=agent)
    except UserError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{ticket.reference} is with {agent} and stays there.")
    return redirect("console:workload")
