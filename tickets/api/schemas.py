"""Output building blocks shared by the ticket endpoints, and the API's one error shape.

Each endpoint still declares its own In and Out schema (a subclass of these), so one
operation's response can change without changing another's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Self

import pydantic
from ninja import Field

from accounts.models import User
from tickets import services
from tickets.choices import (
    Channel,
    DeliveryStatus,
    Direction,
    MessageKind,
    Priority,
    SubChannel,
    TicketKind,
    TicketStatus,
)
from tickets.models import Attachment, Message, Ticket

# A message body as clients send it; the service strips it and refuses an empty one.
Body = Annotated[str, Field(min_length=1, max_length=services.MAX_BODY_CHARS)]
# A row id in a query or body: bounded so a 30-digit number is a 422, not a database
# overflow (SQLite and PostgreSQL bigints stop at 2**63 - 1).
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Out(pydantic.BaseModel):
    """Base of the API's answers. Each is built in our code from keyword values (the
    ``of`` class methods), never read off a model's attributes, so pydantic's own
    validation is all it needs: ninja's ``Schema`` wraps every input in its
    ``DjangoGetter`` first, which cost 60 of the 70 microseconds of CPU that building
    one ``TicketOut`` took (``POST /tickets/create_many`` builds a hundred)."""


class ProblemOut(Out):
    """Every error of the API: a stable machine code, a sentence, and per-field messages."""

    code: str = Field(examples=["invalid_category"])
    detail: str
    fields: dict[str, str] = Field(
        default_factory=dict, description="Field name to message, for input problems."
    )


def problems(*statuses: int) -> dict[int, type[ProblemOut]]:
    """The error answers of an operation, for the OpenAPI document; every operation can
    answer 401 (no usable credentials) and 422 (invalid input)."""
    return dict.fromkeys(sorted({401, 422, *statuses}), ProblemOut)


class PersonOut(Out):
    id: int
    name: str

    @classmethod
    def of(cls, user: User | None) -> Self | None:
        return cls(id=user.pk, name=str(user)) if user else None


class TicketOut(Out):
    id: int
    reference: str = Field(examples=["IZS-1042"])
    subject: str
    status: TicketStatus
    priority: Priority
    category: str = Field(description="A category key from the support policy.")
    channel: Channel
    sub_channel: SubChannel | None = Field(
        description=(
            "Where inside its channel the ticket began, when that matters; null for none. "
            "`chat_offline`: a message left with the live-chat widget while chat was closed "
            "(the channel is `email`: it is answered by email)."
        )
    )
    kind: TicketKind
    team: str
    order_number: str
    requester: PersonOut
    assignee: PersonOut | None
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    first_reply_due_at: dt.datetime | None
    next_reply_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> Self:
        return cls(
            id=ticket.pk,
            reference=ticket.reference,
            subject=ticket.subject,
            status=TicketStatus(ticket.status),
            priority=Priority(ticket.priority),
            category=ticket.category,
            channel=Channel(ticket.channel),
            sub_channel=SubChannel(ticket.sub_channel) if ticket.sub_channel else None,
            kind=TicketKind(ticket.kind),
            team=ticket.team,
            order_number=ticket.order_number,
            requester=PersonOut(id=ticket.requester_id, name=str(ticket.requester)),
            assignee=PersonOut.of(ticket.assignee),
            message_count=ticket.message_count,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            first_reply_due_at=ticket.first_reply_due_at,
            next_reply_due_at=ticket.next_reply_due_at,
            resolution_due_at=ticket.resolution_due_at,
        )


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    size: int
    kept: bool
    not_kept_reason: str

    @classmethod
    def of(cls, attachment: Attachment) -> Self:
        return cls(
            id=attachment.pk,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            kept=attachment.kept,
            not_kept_reason=attachment.not_kept_reason,
        )


class DeliveryOut(Out):
    status: DeliveryStatus
    attempts: int
    last_error: str


class MessageOut(Out):
    id: int
    kind: MessageKind
    direction: Direction
    author_name: str
    channel: Channel
    body_text: str = Field(description="Plain text, exactly as written; never interpreted.")
    body_html: str = Field(
        description="Sanitised HTML, only for messages that arrived as HTML (email)."
    )
    created_at: dt.datetime
    attachments: list[AttachmentOut]
    delivery: DeliveryOut | None = Field(
        description="Support team only: how the outbound reply's delivery went."
    )

    @classmethod
    def of(cls, message: Message, *, for_agent: bool) -> Self:
        # Delivery errors name mail servers and API failures: for the support team only.
        outbound = getattr(message, "outbound", None) if for_agent else None
        return cls(
            id=message.pk,
            kind=MessageKind(message.kind),
            direction=Direction(message.direction),
            author_name=message.author_name,
            channel=Channel(message.channel),
            body_text=message.body_text,
            body_html=message.body_html,
            created_at=message.created_at,
            attachments=[AttachmentOut.of(a) for a in message.attachments.all()],
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
