"""POST /api/v1/tickets/{id}/rating: the customer rates their solved request (apps and
integrations; the email links and the chat widget record through the same service)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from core.errors import UserError
from feedback.requests import resolution_interaction
from feedback.services import feedback_record
from tickets.api.access import request_user, ticket_for
from tickets.api.schemas import Out, problems
from tickets.choices import TicketStatus

router = Router(tags=["feedback"])


class NotSolvedYet(UserError):
    code = "not_solved"


class RatingIn(Schema):
    score: int = Field(description="From the policy's scale (1 to 5).")
    comment: str = Field(default="", max_length=2000)


class RatingOut(Out):
    ticket_id: int
    interaction: str
    score: int
    comment: str
    created: bool = Field(description="False when an earlier rating was changed.")
    changed: bool = Field(description="False when the same rating came again.")


@router.post(
    "/{ticket_id}/rating",
    response={200: RatingOut, **problems(400, 403, 404)},
    summary="Rate a solved request (its requester only)",
    operation_id="rating_record",
)
def rating_record(request: HttpRequest, ticket_id: int, payload: RatingIn) -> Status[RatingOut]:
    user = request_user(request)
    # Someone else's ticket is a 404, exactly like a missing one.
    ticket = ticket_for(user, ticket_id)
    if ticket.requester_id != user.pk:
        raise UserError("Only the customer who asked can rate a request.", field=None)
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise NotSolvedYet(f"{ticket.reference} can be rated once it is solved.", field=None)
    result = feedback_record(
        ticket=ticket,
        channel=ticket.channel,
        score=payload.score,
        comment=payload.comment,
        interaction=resolution_interaction(ticket),
        actor=user,
    )
    rating = result.rating
    return Status(
        200,
        RatingOut(
            ticket_id=ticket.pk,
            interaction=rating.interaction,
            score=rating.score,
            comment=rating.comment,
            created=result.created,
            changed=result.changed,
        ),
    )
