"""The only writers of ``TicketEvent``: one function per kind, one payload shape each.

Inside ``recorded_together()`` (a ticket being opened) events are kept and written in one
INSERT when the block ends, instead of one INSERT each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

from accounts.models import User
from core.rows_insert import rows_insert
from tickets.choices import EventKind
from tickets.models import Message, OutboundMessage, Ticket, TicketEvent

if TYPE_CHECKING:
    from sla.models import SlaClock


# Sent after ``recorded_together`` wrote its events with one bulk INSERT, which sends no
# ``post_save``: ``events`` is the list of rows written. Receivers that follow single
# events through ``post_save`` (the reports' dirty marks) listen to both.
events_written_together = Signal()

# The automatic rule acting in this thread or task (``acting_rule``), if any.
_rule: ContextVar[str | None] = ContextVar("tickets_events_rule", default=None)

# The rules that change tickets on their own, as the history names them.
RULES = {
    "escalation": "the escalation rule",
    "reassignment": "the reassignment rule",
    "routing": "the routing rule",
}

# The events kept by the innermost ``recorded_together`` block of this thread or task.
_kept: ContextVar[list[TicketEvent] | None] = ContextVar("tickets_events_kept", default=None)


@contextmanager
def recorded_together() -> Iterator[None]:
    """Keep the events recorded inside the block and write them in one INSERT at its end.

    Use it inside the transaction of one operation that records several events (opening
    a ticket records four or more). If the block raises, nothing is written: the
    operation's transaction rolls back anyway. Events recorded inside have no ``pk``
    until the block ends. A nested block joins the outer one (a mail batch's rounds of
    write-path batches: one INSERT of events, and of the reports' marks, per batch); if
    it raises, its own events are dropped, as its savepoint drops its other rows (a
    write-path batch that failed, done again item by item).
    """
    outer = _kept.get()
    if outer is not None:
        start = len(outer)
        try:
            yield
        except BaseException:
            del outer[start:]
            raise
        return
    kept: list[TicketEvent] = []
    token = _kept.set(kept)
    try:
        yield
    finally:
        _kept.reset(token)
    if kept:
        rows_insert(kept)
        events_written_together.send(sender=TicketEvent, events=kept)


@contextmanager
def acting_rule(rule: str) -> Iterator[None]:
    """Events recorded inside the block were made by an automatic rule (a key of
    ``RULES``), not by the person whose action set it off: they get no actor, and
    ``data["rule"]`` names the rule and ``data["triggered_by"]`` that person's id.

    Without it, a customer who writes "escalate" would read in the history that they
    changed the ticket's team themselves.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    token = _rule.set(rule)
    try:
        yield
    finally:
        _rule.reset(token)


def _record(
    *, ticket: Ticket, kind: EventKind, actor: User | None, data: dict[str, Any]
) -> TicketEvent:
    rule = _rule.get()
    if rule is not None:
        data = {**data, "rule": rule}
        if actor is not None:
            data["triggered_by"] = actor.pk
        actor = None
    event = TicketEvent(ticket=ticket, kind=kind, actor=actor, data=data)
    kept = _kept.get()
    if kept is None:
        event.save()
    else:
        kept.append(event)
    return event


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


def tags_changed(
    *,
    ticket: Ticket,
    actor: User | None,
    added: Sequence[str] = (),
    removed: Sequence[str] = (),
) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.TAGS_CHANGED,
        actor=actor,
        data={"added": list(added), "removed": list(removed)},
    )


def customer_note(
    *, ticket: Ticket, actor: User | None, note_id: int, deleted: bool
) -> TicketEvent:
    """A note about the requester was kept (or deleted) from this ticket's page."""
    return _record(
        ticket=ticket,
        kind=EventKind.CUSTOMER_NOTE,
        actor=actor,
        data={"note_id": note_id, "deleted": deleted},
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
    *,
    ticket: Ticket,
    actor: User | None,
    channel: str,
    score: int,
    comment: str,
    interaction: str = "",
    rating_id: int | None = None,
    agent_id: int | None = None,
    category: str = "",
    previous_score: int | None = None,
) -> TicketEvent:
    """A rating given or changed (``previous_score`` set when changed); written by
    ``feedback.services.feedback_record``."""
    return _record(
        ticket=ticket,
        kind=EventKind.RATED,
        actor=actor,
        data={
            "channel": channel,
            "score": score,
            "comment": comment[:2000],
            "interaction": interaction,
            "rating_id": rating_id,
            "agent_id": agent_id,
            "category": category,
            "previous_score": previous_score,
        },
    )


# --- Conduct (``conduct/``). Every CONDUCT_VIOLATION event carries ``action``:
# "flagged" (one per abusive customer message), "blocked" (new sessions on a channel
# paused) or "block_lifted"; reports count violations as action == "flagged".


def conduct_flagged(
    *,
    ticket: Ticket,
    message: Message,
    actor: User | None,
    severity: str,
    findings: list[dict[str, Any]],
    reminded: bool,
) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.CONDUCT_VIOLATION,
        actor=actor,
        data={
            "action": "flagged",
            "message_id": message.pk,
            "channel": message.channel,
            "severity": severity,
            "findings": findings,
            "reminded": reminded,
        },
    )


def conduct_blocked(
    *, ticket: Ticket, actor: User | None, block_id: int, channel: str, until: str, violations: int
) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.CONDUCT_VIOLATION,
        actor=actor,
        data={
            "action": "blocked",
            "block_id": block_id,
            "channel": channel,
            "until": until,
            "violations": violations,
        },
    )


def conduct_block_lifted(
    *, ticket: Ticket, actor: User | None, block_id: int, channel: str, reason: str
) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.CONDUCT_VIOLATION,
        actor=actor,
        data={"action": "block_lifted", "block_id": block_id, "channel": channel, "reason": reason},
    )


def conduct_flag_dismissed(*, ticket: Ticket, actor: User | None, message_id: int) -> TicketEvent:
    return _record(
        ticket=ticket,
        kind=EventKind.CONDUCT_VIOLATION,
        actor=actor,
        data={"action": "dismissed", "message_id": message_id},
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


def requester_verified(
    *,
    ticket: Ticket,
    method: str,
    contact_id: int,
    account_id: int | None,
    order_number: str = "",
) -> TicketEvent:
    """The requester proved their address (``method``: a RequesterIdentity value); the
    ticket moved from the unverified contact to the account, unless ``account_id`` is
    None (a support-team address: never linked)."""
    return _record(
        ticket=ticket,
        kind=EventKind.REQUESTER_VERIFIED,
        actor=None,
        data={
            "method": method,
            "contact_id": contact_id,
            "account_id": account_id,
            "order_number": order_number,
        },
    )


def merged_into(
    *, ticket: Ticket, target: Ticket, actor: User | None, messages: int
) -> TicketEvent:
    """``ticket`` was merged into ``target``: its ``messages`` moved there, it closed."""
    return _record(
        ticket=ticket,
        kind=EventKind.MERGED_INTO,
        actor=actor,
        data={"into": target.pk, "into_reference": target.reference, "messages": messages},
    )


def merged_from(
    *, ticket: Ticket, sources: list[Ticket], actor: User | None, messages: int
) -> TicketEvent:
    """``sources`` were merged into ``ticket``, bringing ``messages`` messages."""
    return _record(
        ticket=ticket,
        kind=EventKind.MERGED_FROM,
        actor=actor,
        data={
            "from": [source.pk for source in sources],
            "from_references": [source.reference for source in sources],
            "messages": messages,
        },
    )
