"""The only writers of ``TicketEvent``: one function per kind, one payload shape each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.models import User
from tickets.choices import EventKind
from tickets.models import Message, OutboundMessage, Ticket, TicketEvent

if TYPE_CHECKING:
    from sla.models import SlaClock


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


def _clock_data(clock: SlaClock) -> dict[str, Any]:
    return {
        "clock_id": clock.pk,
        "target_id": clock.target_id,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
        "breach_at": clock.breach_at.isoformat() if clock.breach_at else None,
    }


def sla_warned(*, ticket: Ticket, clock: SlaClock) -> TicketEvent:
    return _record(ticket=ticket, kind=EventKind.SLA_WARNED, actor=None, data=_clock_data(clock))


def sla_target_missed(*, ticket: Ticket, clock: SlaClock) -> TicketEvent:
    return _record(
        ticket=ticket, kind=EventKind.SLA_TARGET_MISSED, actor=None, data=_clock_data(clock)
    )


def sla_breached(*, ticket: Ticket, clock: SlaClock) -> TicketEvent:
    return _record(ticket=ticket, kind=EventKind.SLA_BREACHED, actor=None, data=_clock_data(clock))


def sla_stopped(*, ticket: Ticket, clock: SlaClock) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.SLA_STOPPED,
        actor=None,
        data={
            "clock_id": clock.pk,
            "target_id": clock.target_id,
            "outcome": clock.outcome,
            "elapsed_seconds": clock.elapsed_seconds,
            "elapsed_calendar_seconds": clock.elapsed_calendar_seconds,
            "over_breach_seconds": clock.over_breach_seconds,
        },
    )


def session_terminated(
    *, ticket: Ticket, actor: User | None, channel: str, reason: str
) -> TicketEvent:
    """An agent ended a chat or social session for conduct; ``reason`` is what the
    customer was shown."""
    return _record(
        ticket=ticket,
        kind=EventKind.TERMINATED,
        actor=actor,
        data={"channel": channel, "reason": reason},
    )


def rated(
    *, ticket: Ticket, actor: User | None, channel: str, score: int, comment: str
) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.RATED,
        actor=actor,
        data={"channel": channel, "score": score, "comment": comment[:2000]},
    )


def dispute_resolved(
    *,
    ticket: Ticket,
    actor: User | None,
    dispute_id: int,
    outcome: str,
    amount: str | None,
    reason: str,
) -> TicketEvent:
    """The agent's decision on a dispute with a third-party seller (``disputes``)."""
    return _record(
        ticket=ticket,
        kind=EventKind.RESOLVED,
        actor=actor,
        data={
            "dispute_id": dispute_id,
            "outcome": outcome,
            "amount": amount,
            "reason": reason[:2000],
        },
    )


def reassigned(
    *, ticket: Ticket, actor: User | None, old: int | None, new: int | None, reason: str
) -> TicketEvent:
    """An assignment moved by the workload rules (agent offline, over capacity) or a
    supervisor's override of one; ``reason`` says which."""
    return _record(
        ticket=ticket,
        kind=EventKind.ASSIGNED,
        actor=actor,
        data={"old": old, "new": new, "reason": reason},
    )
