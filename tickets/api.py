"""REST endpoints for tickets: thin, typed, one In and one Out schema each."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import AuthorizationError

from accounts.models import Role, User
from tickets import selectors, services
from tickets.choices import Channel, DeliveryStatus, Priority, TicketStatus
from tickets.exceptions import InvalidAssignee
from tickets.models import Message, Ticket

router = Router(tags=["tickets"])


# --- Schemas


class PersonOut(Schema):
    id: int
    name: str

    @staticmethod
    def of(user: User | None) -> PersonOut | None:
        return PersonOut(id=user.pk, name=str(user)) if user else None


class TicketOut(Schema):
    id: int
    reference: str
    subject: str
    status: TicketStatus
    priority: Priority
    category: str
    channel: Channel
    kind: str
    team: str
    order_number: str
    requester: PersonOut
    assignee: PersonOut | None
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    first_reply_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None

    @staticmethod
    def of(ticket: Ticket) -> TicketOut:
        return TicketOut(
            id=ticket.pk,
            reference=ticket.reference,
            subject=ticket.subject,
            status=TicketStatus(ticket.status),
            priority=Priority(ticket.priority),
            category=ticket.category,
            channel=Channel(ticket.channel),
            kind=ticket.kind,
            team=ticket.team,
            order_number=ticket.order_number,
            requester=PersonOut(id=ticket.requester_id, name=str(ticket.requester)),
            assignee=PersonOut.of(ticket.assignee),
            message_count=ticket.message_count,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            first_reply_due_at=ticket.first_reply_due_at,
            resolution_due_at=ticket.resolution_due_at,
        )


class TicketPageOut(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    kept: bool
    not_kept_reason: str


class DeliveryOut(Schema):
    status: DeliveryStatus
    attempts: int
    last_error: str


class MessageOut(Schema):
    id: int
    kind: str
    direction: str
    author_name: str
    channel: Channel
    body_text: str
    body_html: str
    created_at: dt.datetime
    attachments: list[AttachmentOut]
    delivery: DeliveryOut | None

    @staticmethod
    def of(message: Message, *, for_agent: bool) -> MessageOut:
        outbound = getattr(message, "outbound", None) if for_agent else None
        return MessageOut(
            id=message.pk,
            kind=message.kind,
            direction=message.direction,
            author_name=message.author_name,
            channel=Channel(message.channel),
            body_text=message.body_text,
            body_html=message.body_html,
            created_at=message.created_at,
            attachments=[
                AttachmentOut(
                    id=a.pk,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                    kept=a.kept,
                    not_kept_reason=a.not_kept_reason,
                )
                for a in message.attachments.all()
            ],
            delivery=(
                DeliveryOut(
                    status=DeliveryStatus(outbound.status),
                    attempts=outbound.attempts,
                    last_error=outbound.last_error,
                )
                if outbound is not None
                else None
            ),
        )


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]


Body = Annotated[str, Field(min_length=1, max_length=services.MAX_BODY_CHARS)]


class TicketCreateIn(Schema):
    body: Body
    category: str = Field(min_length=1, max_length=40)
    subject: str = Field(default="", max_length=200)
    order_number: str = Field(default="", max_length=40)
    priority: Priority = Priority.NORMAL
    requester_id: int | None = Field(
        default=None, description="Agents only: open the ticket for this customer."
    )


class ReplyIn(Schema):
    body: Body
    status: TicketStatus | None = Field(
        default=None, description="Agents only: the status to set with the reply."
    )


class NoteIn(Schema):
    body: Body


class TicketPatchIn(Schema):
    status: TicketStatus | None = None
    category: str | None = Field(default=None, min_length=1, max_length=40)
    priority: Priority | None = None
    team: str | None = Field(default=None, max_length=40)
    assignee_id: int | None = Field(
        default=None, description="An agent's id; null unassigns. Leave out to keep."
    )


class TicketFiltersIn(Schema):
    status: list[TicketStatus] = Field(default_factory=list)
    category: str | None = None
    channel: Channel | None = None
    team: str | None = None
    assignee: str | None = Field(default=None, description='An agent id, "me" or "none".')
    requester: int | None = None
    q: str = Field(default="", max_length=200)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=25, ge=1, le=100)


# --- Helpers


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _require_agent(user: User) -> None:
    if not user.is_agent:
        raise AuthorizationError(message="Only the support team can do this.")


def _ticket(user: User, ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_get_for_viewer(viewer=user, ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404 from None


def _detail(user: User, ticket: Ticket) -> TicketDetailOut:
    messages = selectors.messages_for_viewer(viewer=user, ticket=ticket)
    return TicketDetailOut(
        **TicketOut.of(ticket).model_dump(),
        messages=[MessageOut.of(m, for_agent=user.is_agent) for m in messages],
    )


def _agent_by_id(agent_id: int) -> User:
    agent = User.objects.filter(pk=agent_id).first()
    if agent is None or not agent.is_agent:
        raise InvalidAssignee(f"There is no agent with id {agent_id}.", field="assignee_id")
    return agent


# --- Endpoints


@router.post("", response={201: TicketOut}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketCreateIn) -> Status[TicketOut]:
    user = _user(request)
    requester = user
    if payload.requester_id is not None:
        _require_agent(user)
        found = User.objects.filter(
            pk=payload.requester_id, role__in=[Role.BUYER, Role.SELLER]
        ).first()
        if found is None:
            raise InvalidAssignee(
                f"There is no customer with id {payload.requester_id}.", field="requester_id"
            )
        requester = found
    elif user.is_agent:
        raise InvalidAssignee(
            "Say which customer the ticket is for (requester_id).", field="requester_id"
        )
    ticket = services.ticket_open(
        requester=requester,
        channel=Channel.API,
        body=payload.body,
        category=payload.category,
        subject=payload.subject,
        order_number=payload.order_number,
        priority=payload.priority,
        created_by=user,
    )
    return Status(201, TicketOut.of(ticket))


@router.get("", response=TicketPageOut, summary="List tickets, newest activity first")
def list_tickets(request: HttpRequest, filters: Query[TicketFiltersIn]) -> TicketPageOut:
    user = _user(request)
    assignee_id: int | None = None
    unassigned = False
    if filters.assignee == "me":
        assignee_id = user.pk
    elif filters.assignee == "none":
        unassigned = True
    elif filters.assignee:
        if not filters.assignee.isdigit():
            raise InvalidAssignee('assignee is an agent id, "me" or "none".', field="assignee")
        assignee_id = int(filters.assignee)
    page = selectors.ticket_list(
        viewer=user,
        filters=selectors.TicketFilters(
            status=[str(s) for s in filters.status],
            category=filters.category,
            channel=filters.channel,
            team=filters.team,
            assignee_id=assignee_id,
            unassigned=unassigned,
            requester_id=filters.requester,
            text=filters.q,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return TicketPageOut(
        items=[TicketOut.of(t) for t in page.tickets], next_cursor=page.next_cursor
    )


@router.get("/{ticket_id}", response=TicketDetailOut, summary="A ticket with its messages")
def get_ticket(request: HttpRequest, ticket_id: int) -> TicketDetailOut:
    user = _user(request)
    return _detail(user, _ticket(user, ticket_id))


@router.post(
    "/{ticket_id}/replies",
    response={201: MessageOut},
    summary="Reply (agents) or write again (the customer)",
)
def post_reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> Status[MessageOut]:
    user = _user(request)
    ticket = _ticket(user, ticket_id)
    if user.is_agent:
        message = services.ticket_reply(
            ticket=ticket, author=user, body=payload.body, status=payload.status
        )
    else:
        if payload.status is not None:
            raise AuthorizationError(message="Customers cannot set a ticket's status.")
        message = services.ticket_customer_message(ticket=ticket, author=user, body=payload.body)
    return Status(201, MessageOut.of(message, for_agent=user.is_agent))


@router.post("/{ticket_id}/notes", response={201: MessageOut}, summary="Add an internal note")
def post_note(request: HttpRequest, ticket_id: int, payload: NoteIn) -> Status[MessageOut]:
    user = _user(request)
    ticket = _ticket(user, ticket_id)
    _require_agent(user)
    message = services.ticket_add_note(ticket=ticket, author=user, body=payload.body)
    return Status(201, MessageOut.of(message, for_agent=True))


@router.patch(
    "/{ticket_id}",
    response=TicketOut,
    summary="Change status, category, priority, team or assignee",
)
def patch_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatchIn) -> TicketOut:
    user = _user(request)
    ticket = _ticket(user, ticket_id)
    _require_agent(user)
    changes: dict[str, Any] = {
        "status": payload.status,
        "category": payload.category,
        "priority": payload.priority,
        "team": payload.team,
    }
    if "assignee_id" in payload.model_fields_set:
        changes["assignee"] = (
            None if payload.assignee_id is None else _agent_by_id(payload.assignee_id)
        )
    ticket = services.ticket_update(ticket=ticket, actor=user, **changes)
    return TicketOut.of(selectors.ticket_get_for_viewer(viewer=user, ticket_id=ticket.pk))
