"""POST /tickets/{id}/replies: an agent answers, or the customer writes again."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Schema, Status
from ninja.errors import AuthorizationError

from tickets import services
from tickets.api import router
from tickets.api.access import request_user, ticket_for
from tickets.api.schemas import Body, MessageOut, problems
from tickets.choices import TicketStatus


class ReplyCreateIn(Schema):
    body: Body
    status: TicketStatus | None = Field(
        default=None, description="Agents only: the status to set with the reply."
    )


class ReplyCreateOut(MessageOut):
    pass


@router.post(
    "/{ticket_id}/replies",
    response={201: ReplyCreateOut, **problems(400, 403, 404, 409)},
    summary="Reply (agents) or write again (the customer)",
    operation_id="reply_create",
)
def reply_create(
    request: HttpRequest, ticket_id: int, payload: ReplyCreateIn
) -> Status[ReplyCreateOut]:
    user = request_user(request)
    ticket = ticket_for(user, ticket_id)
    if user.is_agent:
        message = services.ticket_reply(
            ticket=ticket, author=user, body=payload.body, status=payload.status
        )
    elif payload.status is not None:
        raise AuthorizationError(message="Customers cannot set a ticket's status.")
    else:
        message = services.ticket_customer_message(ticket=ticket, author=user, body=payload.body)
    return Status(201, ReplyCreateOut.of(message, for_agent=user.is_agent))
