"""Who else is on this ticket: the ticket page reports itself and asks, every few seconds."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from tickets import collisions, selectors
from tickets.models import Ticket


@agent_required
@require_POST
def ticket_presence(request: HttpRequest, ticket_id: int) -> JsonResponse:
    """``state``: viewing, replying or left. Answers with the colleagues on the ticket
    and whether anything was written since ``seen`` (the newest message id the page has)."""
    agent = current_user(request)
    try:
        ticket = selectors.ticket_get_for_viewer(viewer=agent, ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None
    state = request.POST.get("state", collisions.VIEWING)
    # Announced, so that colleagues whose pages hold a socket hear of this page at once.
    announced = collisions.presence_announce(ticket_id=ticket.pk, agent=agent, state=state)
    if state == collisions.LEFT:
        return JsonResponse({"colleagues": [], "new_messages": 0})
    seen = request.POST.get("seen", "")
    new = (
        collisions.written_since(ticket=ticket, seen_id=int(seen), agent=agent)
        if seen.isdigit()
        else []
    )
    return JsonResponse(
        {
            "colleagues": [{"name": c.name, "state": c.state} for c in announced.colleagues],
            "new_messages": len(new),
            "poll_seconds": collisions.POLL_SECONDS,
        }
    )
