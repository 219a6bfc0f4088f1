"""GET /tickets/{id}: one ticket with the messages the caller may read."""

from __future__ import annotations

from django.http import HttpRequest

from tickets import selectors
from tickets.api import router
from tickets.api.access import request_user, ticket_for
from tickets.api.schemas import MessageOut, TicketOut, problems


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]


@router.get(
    "/{ticket_id}",
    response={200: TicketDetailOut, **problems(404)},
    summary="A ticket with its messages (internal notes for the support team only)",
    operation_id="ticket_detail",
)
def ticket_detail(request: HttpRequest, ticket_id: int) -> TicketDetailOut:
    user = request_user(request)
    ticket = ticket_for(user, ticket_id)
    messages = selectors.messages_for_viewer(viewer=user, ticket=ticket)
    return TicketDetailOut(
        **TicketOut.of(ticket).model_dump(),
        messages=[MessageOut.of(m, for_agent=user.is_agent) for m in messages],
    )
