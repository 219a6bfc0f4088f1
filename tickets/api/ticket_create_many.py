"""POST /tickets/create_many: open up to 100 tickets in one request, one answer per item.

The items go through the write path together (``tickets.write_path.tickets_open``): one
transaction, one statement per table. Each item is checked on its own (its shape, who
may set what, the requester, the services' rules), so a bad item gets its own error and
every other item is opened.
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.http import HttpRequest
from ninja import Field, Schema

from accounts.models import CUSTOMER_ROLES, User
from core.errors import UserError
from tickets.api import router
from tickets.api.access import request_user
from tickets.api.schemas import Out, ProblemOut, TicketOut, problems
from tickets.api.ticket_create import InvalidRequester, TicketCreateIn
from tickets.choices import Channel, Priority
from tickets.exceptions import TicketClosed
from tickets.write_path import TicketToOpen, tickets_open

MAX_ITEMS = 100


class TicketCreateManyIn(Schema):
    tickets: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Up to 100 tickets, each shaped like the body of `POST /tickets`.",
        # Items are validated one by one (a bad item is answered alone), so the document
        # names their shape instead of letting the whole request fail on one of them.
        json_schema_extra={
            "items": {
                "type": "object",
                "description": "A `TicketCreateIn`, the body of `POST /tickets`.",
            }
        },
    )


class TicketCreateResultOut(Out):
    index: int = Field(description="The item's position in `tickets`, from 0.")
    status: int = Field(description="201 (opened), 403 or 422, as `POST /tickets` answers.")
    ticket: TicketOut | None = None
    error: ProblemOut | None = None


class TicketCreateManyOut(Out):
    created: int
    failed: int
    results: list[TicketCreateResultOut]


def _invalid(index: int, exc: pydantic.ValidationError) -> TicketCreateResultOut:
    fields: dict[str, str] = {}
    for error in exc.errors():
        fields.setdefault(".".join(str(p) for p in error["loc"]) or "request", error["msg"])
    problem = ProblemOut(
        code="invalid_input", detail="Some fields are missing or invalid.", fields=fields
    )
    return TicketCreateResultOut(index=index, status=422, error=problem)


def _refused(index: int, exc: Exception) -> TicketCreateResultOut:
    if isinstance(exc, UserError):
        status = 409 if isinstance(exc, TicketClosed) else 422
        fields = {exc.field: exc.message} if exc.field else {}
        problem = ProblemOut(code=exc.code, detail=exc.message, fields=fields)
    else:
        # A database error on this item alone (the batch was retried item by item).
        status, problem = 500, ProblemOut(code="not_opened", detail="This ticket was not opened.")
    return TicketCreateResultOut(index=index, status=status, error=problem)


def _forbidden(index: int, detail: str) -> TicketCreateResultOut:
    return TicketCreateResultOut(
        index=index, status=403, error=ProblemOut(code="forbidden", detail=detail)
    )


@router.post(
    "/create_many",
    response={200: TicketCreateManyOut, **problems(400, 403)},
    summary="Open up to 100 tickets",
    operation_id="ticket_create_many",
)
def ticket_create_many(request: HttpRequest, payload: TicketCreateManyIn) -> TicketCreateManyOut:
    user = request_user(request)
    results: dict[int, TicketCreateResultOut] = {}
    valid: dict[int, TicketCreateIn] = {}
    for index, raw in enumerate(payload.tickets):
        try:
            valid[index] = TicketCreateIn.model_validate(raw)
        except pydantic.ValidationError as exc:
            results[index] = _invalid(index, exc)
    # Every requester named, in one query.
    named = {item.requester_id for item in valid.values() if item.requester_id is not None}
    customers = (
        User.objects.in_bulk(
            User.objects.filter(pk__in=named, role__in=CUSTOMER_ROLES, is_active=True).values_list(
                "pk", flat=True
            )
        )
        if named and user.is_agent
        else {}
    )
    to_open: dict[int, TicketToOpen] = {}
    for index, item in valid.items():
        if not user.is_agent and (item.channel != Channel.API or item.priority is not None):
            results[index] = _forbidden(index, "Only the support team can set channel or priority.")
        elif not user.is_agent and item.requester_id is not None:
            results[index] = _forbidden(index, "Customers open tickets for themselves only.")
        elif user.is_agent and item.requester_id is None:
            results[index] = _refused(
                index,
                InvalidRequester(
                    "Say which customer the ticket is for (requester_id).", field="requester_id"
                ),
            )
        elif user.is_agent and item.requester_id not in customers:
            results[index] = _refused(
                index,
                InvalidRequester(
                    f"There is no customer with id {item.requester_id}.", field="requester_id"
                ),
            )
        else:
            to_open[index] = TicketToOpen(
                requester=customers[item.requester_id] if user.is_agent else user,
                channel=item.channel,
                body=item.body,
                category=item.category,
                subject=item.subject,
                order_number=item.order_number,
                priority=item.priority or Priority.NORMAL,
                created_by=user,
            )
    outcomes = tickets_open(list(to_open.values())) if to_open else []
    opened = [outcome.value for outcome in outcomes if outcome.value is not None]
    # The assignees' names for the answers, in one query.
    assignees = User.objects.in_bulk({t.assignee_id for t in opened if t.assignee_id})
    for ticket in opened:
        ticket.assignee = assignees.get(ticket.assignee_id) if ticket.assignee_id else None
    for index, outcome in zip(to_open, outcomes, strict=True):
        if outcome.value is None:
            results[index] = _refused(index, outcome.error or RuntimeError())
        else:
            results[index] = TicketCreateResultOut(
                index=index, status=201, ticket=TicketOut.of(outcome.value)
            )
    ordered = [results[index] for index in sorted(results)]
    created = sum(1 for result in ordered if result.status == 201)
    return TicketCreateManyOut(created=created, failed=len(ordered) - created, results=ordered)
