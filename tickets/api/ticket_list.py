"""GET /tickets: the tickets the caller may see, newest activity first, a page at a time."""

from __future__ import annotations

import re

from django.http import HttpRequest
from ninja import Field, Query, Schema

from accounts.models import User
from tickets import selectors
from tickets.api import router
from tickets.api.access import request_user
from tickets.api.schemas import Out, RowId, TicketOut, problems
from tickets.choices import Channel, SubChannel, TicketStatus
from tickets.exceptions import InvalidAssignee


class TicketListIn(Schema):
    status: list[TicketStatus] = Field(
        default_factory=list, description="Repeat for several: `?status=new&status=open`."
    )
    category: str | None = Field(
        default=None, max_length=40, description="A category key; empty for tickets in triage."
    )
    channel: Channel | None = None
    sub_channel: SubChannel | None = Field(
        default=None,
        description="Where inside its channel a ticket began: `chat_offline` for messages "
        "left with the chat widget while chat was closed (answered by email, so their "
        "`channel` is `email`).",
    )
    team: str | None = Field(default=None, max_length=40)
    assignee: str | None = Field(
        default=None, max_length=20, description='An agent\'s id, "me" or "none".'
    )
    requester: RowId | None = Field(default=None, description="A customer's id.")
    q: str = Field(
        default="", max_length=200, description="Words of the subject, an order number or IZS-123."
    )
    cursor: str | None = Field(
        default=None, max_length=200, description="`next_cursor` of the previous page."
    )
    limit: int = Field(default=25, ge=1, le=100)


class TicketListOut(Out):
    items: list[TicketOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def _assignee_filter(value: str | None, *, user: User) -> selectors.TicketFilters:
    """The assignee part of the filters: an id, "me" or "none"."""
    if not value:
        return selectors.TicketFilters()
    if value == "none":
        return selectors.TicketFilters(unassigned=True)
    if value == "me":
        return selectors.TicketFilters(assignee_id=user.pk)
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise InvalidAssignee('assignee is an agent id, "me" or "none".', field="assignee")
    return selectors.TicketFilters(assignee_id=int(value))


@router.get(
    "",
    response={200: TicketListOut, **problems(400)},
    summary="List tickets, newest activity first",
    operation_id="ticket_list",
)
def ticket_list(request: HttpRequest, filters: Query[TicketListIn]) -> TicketListOut:
    user = request_user(request)
    assignee = _assignee_filter(filters.assignee, user=user)
    page = selectors.ticket_list(
        viewer=user,
        filters=selectors.TicketFilters(
            status=[str(s) for s in filters.status],
            category=filters.category,
            channel=filters.channel,
            sub_channel=filters.sub_channel,
            team=filters.team,
            assignee_id=assignee.assignee_id,
            unassigned=assignee.unassigned,
            requester_id=filters.requester,
            text=filters.q,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return TicketListOut(
        items=[TicketOut.of(t) for t in page.tickets], next_cursor=page.next_cursor
    )
