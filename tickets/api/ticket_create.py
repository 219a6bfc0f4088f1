"""POST /tickets: open a ticket with its first message."""

from __future__ import annotations

from typing import Literal

import pydantic
from django.http import HttpRequest
from ninja import Field, Status
from ninja.errors import AuthorizationError

from accounts.models import CUSTOMER_ROLES, User
from core.errors import UserError
from tickets import services
from tickets.api import router
from tickets.api.access import request_user, require_agent
from tickets.api.schemas import Body, RowId, TicketOut, problems
from tickets.choices import Channel, Priority


class InvalidRequester(UserError):
    code = "invalid_requester"


# A plain pydantic model, as the answers are (``tickets.api.schemas.Out``): a body is a
# dict, which ninja's ``Schema`` would wrap in its ``DjangoGetter`` first, and
# ``create_many`` validates up to a hundred of these per request. (No docstring: it
# would become the schema's description in the OpenAPI document.)
class TicketCreateIn(pydantic.BaseModel):
    body: Body
    category: str = Field(
        min_length=1, max_length=40, description="A category key from the support policy."
    )
    subject: str = Field(
        default="", max_length=200, description="Defaults to the body's first line."
    )
    order_number: str = Field(default="", max_length=40)
    channel: Literal["api", "email", "web_form"] = Field(
        default="api",
        description="Where the request came in. Agents may log an email or contact-form "
        "request; customers' requests are always `api`.",
    )
    priority: Priority | None = Field(default=None, description="Agents only.")
    requester_id: RowId | None = Field(
        default=None, description="Agents only, and required for them: the customer's id."
    )


class TicketCreateOut(TicketOut):
    pass


def _requester(user: User, payload: TicketCreateIn) -> User:
    if payload.requester_id is None:
        if user.is_agent:
            raise InvalidRequester(
                "Say which customer the ticket is for (requester_id).", field="requester_id"
            )
        return user
    require_agent(user, message="Customers open tickets for themselves only.")
    customer = User.objects.filter(
        pk=payload.requester_id, role__in=CUSTOMER_ROLES, is_active=True
    ).first()
    if customer is None:
        raise InvalidRequester(
            f"There is no customer with id {payload.requester_id}.", field="requester_id"
        )
    return customer


@router.post(
    "",
    response={201: TicketCreateOut, **problems(400, 403)},
    summary="Open a ticket",
    operation_id="ticket_create",
)
def ticket_create(request: HttpRequest, payload: TicketCreateIn) -> Status[TicketCreateOut]:
    user = request_user(request)
    if not user.is_agent and (payload.channel != Channel.API or payload.priority is not None):
        raise AuthorizationError(message="Only the support team can set channel or priority.")
    ticket = services.ticket_open(
        requester=_requester(user, payload),
        channel=payload.channel,
        body=payload.body,
        category=payload.category,
        subject=payload.subject,
        order_number=payload.order_number,
        priority=payload.priority or Priority.NORMAL,
        created_by=user,
    )
    return Status(201, TicketCreateOut.of(ticket))
