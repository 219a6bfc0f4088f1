"""The only writers of ``TicketEvent``: one function per kind, one payload shape each."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from tickets.choices import EventKind
from tickets.models import Message, OutboundMessage, Ticket, TicketEvent


def _record(
    *, ticket: Ticket, kind: EventKind, actor: User | None, data: dict[str, Any]
) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)


def ticket_created(*, ticket: Ticket, actor: User | None) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.CREATED,
        actor=actor,
        data={"channel": ticket.channel, "category": ticket.category, "team": ticket.team},
    )


def message_received(*, ticket: Ticket, message: Message, actor: User | None) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.MESSAGE_IN,
        actor=actor,
        data={"message_id": message.pk, "channel": message.channel},
    )


def message_sent(*, ticket: Ticket, message: Message, actor: User | None) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.MESSAGE_OUT,
        actor=actor,
        data={"message_id": message.pk, "channel": message.channel},
    )


def note_added(*, ticket: Ticket, message: Message, actor: User | None) -> TicketEvent:
    return _record(
        ticket=ticket, kind=EventKind.NOTE_ADDED, actor=actor, data={"message_id": message.pk}
    )


def field_changed(
    *, ticket: Ticket, kind: EventKind, actor: User | None, old: Any, new: Any
) -> TicketEvent:
    """Assignment, team, status, category and priority changes: old and new values."""
    return _record(ticket=ticket, kind=kind, actor=actor, data={"old": old, "new": new})


def delivery_succeeded(*, outbound: OutboundMessage) -> TicketEvent:
    return _record(
        ticket=outbound.message.ticket,
        kind=EventKind.DELIVERED,
        actor=None,
        data={"message_id": outbound.message_id, "attempts": outbound.attempts},
    )


def delivery_failed(*, outbound: OutboundMessage) -> TicketEvent:
    return _record(
        ticket=outbound.message.ticket,
        kind=EventKind.DELIVERY_FAILED,
        actor=None,
        data={
            "message_id": outbound.message_id,
            "attempts": outbound.attempts,
            "error": outbound.last_error,
        },
    )
