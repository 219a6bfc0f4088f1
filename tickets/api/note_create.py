"""POST /tickets/{id}/notes: an internal note, never shown to the customer."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Schema, Status

from tickets import services
from tickets.api import router
from tickets.api.access import request_user, require_agent, ticket_for
from tickets.api.schemas import Body, MessageOut, problems


class NoteCreateIn(Schema):
    body: Body


class NoteCreateOut(MessageOut):
    pass


@router.post(
    "/{ticket_id}/notes",
    response={201: NoteCreateOut, **problems(400, 403, 404)},
    summary="Add an internal note (support team only)",
    operation_id="note_create",
)
def note_create(
    request: HttpRequest, ticket_id: int, payload: NoteCreateIn
) -> Status[NoteCreateOut]:
    user = request_user(request)
    # Visibility first: another customer's ticket is a 404 here too, not a 403.
    ticket = ticket_for(user, ticket_id)
    require_agent(user)
    message = services.ticket_add_note(ticket=ticket, author=user, body=payload.body)
    return Status(201, NoteCreateOut.of(message, for_agent=True))
