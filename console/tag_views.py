"""Tags on the ticket page: add and remove, answered in place like the other forms."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from console.views import _ticket_or_404
from tickets.tagging import tag_names, ticket_tag_remove, ticket_tags_add


@agent_required
@require_POST
def ticket_tags_add_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    names = tag_names(request.POST.get("tags", "")[:500])
    if names:
        ticket_tags_add(tickets=[ticket], actor=current_user(request), names=names)
        messages.success(request, f"Tagged {', '.join(names)}.")
    else:
        messages.error(request, "Type a tag to add (letters, digits and dashes).")
    return redirect("console:ticket", ticket_id=ticket.pk)


@agent_required
@require_POST
def ticket_tag_remove_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(request, ticket_id)
    name = request.POST.get("tag", "")
    if ticket_tag_remove(ticket=ticket, actor=current_user(request), name=name):
        messages.success(request, f"Tag {name} removed.")
    return redirect("console:ticket", ticket_id=ticket.pk)
