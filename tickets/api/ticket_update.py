"""PATCH /tickets/{id}: the support team changes status, category, priority, team, assignee."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

from tickets import selectors, services
from tickets.api import router
from tickets.api.access import agent_by_id, request_user, require_agent, ticket_for
from tickets.api.schemas import RowId, TicketOut, problems
from tickets.choices import Priority, TicketStatus


class TicketUpdateIn(Schema):
    """Only the fields sent change; ``assignee_id: null`` unassigns."""

    status: TicketStatus | None = None
    category: str | None = Field(default=None, min_length=1, max_length=40)
    priority: Priority | None = None
    team: str | None = Field(default=None, max_length=40)
    assignee_id: RowId | None = Field(
        default=None, description="An active agent's id; null unassigns. Leave out to keep."
    )


class TicketUpdateOut(TicketOut):
    pass


@router.patch(
    "/{ticket_id}",
    response={200: TicketUpdateOut, **problems(400, 403, 404)},
    summary="Change status, category, priority, team or assignee (support team only)",
    operation_id="ticket_update",
)
def ticket_update(request: HttpRequest, ticket_id: int, payload: TicketUpdateIn) -> TicketUpdateOut:
    user = request_user(request)
    ticket = ticket_for(user, ticket_id)
    require_agent(user)
    changes: dict[str, Any] = payload.model_dump(exclude={"assignee_id"})
    if "assignee_id" in payload.model_fields_set:
        assignee_id = payload.assignee_id
        changes["assignee"] = (
            None if assignee_id is None else agent_by_id(assignee_id, field="assignee_id")
        )
    services.ticket_update(ticket=ticket, actor=user, **changes)
    return TicketUpdateOut.of(selectors.ticket_get_for_viewer(viewer=user, ticket_id=ticket.pk))
