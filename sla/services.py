"""Starting, pausing, resuming and stopping SLA clocks, and firing their timers.

Ticket services call the ``on_*`` hooks inside their transaction; timer tasks are
enqueued on commit for each warning/target/breach moment and re-check the clock
when they run, so a late, duplicated or stale timer does nothing wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone

from core.rows_insert import rows_insert
from core.rows_select import Select
from core.rows_update import rows_update
from core.task_rows import PlannedTask, tasks_enqueue_many
from notifications.services import notify_ticket_owner
from policy.loader import get_policy
from policy.schema import ClockKind, Measure, ResponseTarget
from sla.clocks import business_clock, target_seconds
from sla.models import ClockStatus, Outcome, SlaClock
from tickets import events
from tickets.choices import TicketKind
from tickets.models import Ticket

# Which ticket deadline field shows each measure's live clock.
DEADLINE_FIELDS = {
    Measure.FIRST_REPLY: "first_reply_due_at",
    Measure.NEXT_REPLY: "next_reply_due_at",
    Measure.RESOLUTION: "resolution_due_at",
}

# Timer moments and the clock field holding when each falls.
MOMENT_FIELDS = {"warn": "warn_at", "target": "due_at", "breach": "breach_at"}


def targets_for(*, ticket: Ticket, measure: Measure) -> list[ResponseTarget]:
    """The policy's targets of this measure that apply to this ticket."""
    matching = []
    for target in get_policy().response_targets:
        rule = target.applies_to
        if target.measure != measure:
            continue
        if rule.channels and ticket.channel not in rule.channels:
            continue
        if rule.categories and ticket.category not in rule.categories:
            continue
        if rule.kind == "dispute" and ticket.kind != TicketKind.DISPUTE:
            continue
        matching.append(target)
    return matching


# --- Arithmetic on one clock


def _elapsed(clock: SlaClock, *, start: dt.datetime, end: dt.datetime) -> float:
    if clock.business:
        return business_clock(clock.hours_of).between(start, end)
    return (end - start).total_seconds()


def _moment(clock: SlaClock, seconds_total: float) -> dt.datetime | None:
    """When the clock reaches ``seconds_total`` if it keeps running from now on."""
    if clock.segment_started_at is None:
        return None
    remaining = max(seconds_total - clock.consumed_seconds, 0)
    if clock.business:
        return business_clock(clock.hours_of).add(clock.segment_started_at, remaining)
    return clock.segment_started_at + dt.timedelta(seconds=remaining)


def _plan(clock: SlaClock) -> None:
    clock.warn_at = _moment(clock, clock.target_seconds * clock.warn_fraction)
    clock.due_at = _moment(clock, clock.target_seconds)
    clock.breach_at = _moment(clock, clock.breach_seconds)


MOMENT_FLAGS = {"warn": "warned_at", "target": "target_missed_at", "breach": "breached_at"}


def next_timer(clock: SlaClock, *, after: str | None = None) -> PlannedTask | None:
    """The timer for the clock's next moment that has not fired yet, or ``None``.

    Timers are chained (warning, then target, then breach), so starting a clock costs
    one task row, and each timer schedules the next one when it runs.
    """
    from sla.tasks import sla_clock_fire

    moments = list(MOMENT_FIELDS)
    if after is not None:
        moments = moments[moments.index(after) + 1 :]
    for moment in moments:
        when = getattr(clock, MOMENT_FIELDS[moment])
        if when is None or getattr(clock, MOMENT_FLAGS[moment]) is not None:
            continue
        return PlannedTask(
            task=sla_clock_fire,
            kwargs={"clock_id": clock.pk, "moment": moment, "expected_at": when.isoformat()},
            run_after=when,
        )
    return None


def _schedule_timers(clock: SlaClock, *, after: str | None = None) -> None:
    """Enqueue ``next_timer`` on commit."""
    timer = next_timer(clock, after=after)
    if timer is not None:
        transaction.on_commit(partial(tasks_enqueue_many, [timer]))


def _sync_ticket_deadlines(ticket: Ticket, clocks: list[SlaClock] | None = None) -> None:
    """Copy the live clocks' due times onto the ticket's deadline fields.

    ``clocks``: the ticket's running clocks when the caller already has them all (a
    ticket opened in this transaction), saving a query.
    """
    running = (
        clocks
        if clocks is not None
        else SlaClock.objects.filter(ticket=ticket, status=ClockStatus.RUNNING)
    )
    updates = {}
    for field, value in _deadlines(running).items():
        if getattr(ticket, field) != value:
            setattr(ticket, field, value)
            updates[field] = value
    if updates:
        Ticket.objects.filter(pk=ticket.pk).update(**updates)


def _deadlines(running: Iterable[SlaClock]) -> dict[str, dt.datetime | None]:
    """Each deadline field's value: the earliest due time of the running clocks of its
    measure (a ticket may run two clocks of one measure), or ``None``."""
    live: dict[str, dt.datetime] = {}
    for clock in running:
        if clock.due_at and (clock.measure not in live or clock.due_at < live[clock.measure]):
            live[clock.measure] = clock.due_at
    return {field: live.get(measure) for measure, field in DEADLINE_FIELDS.items()}


# --- Operations


def clock_start(
    *,
    ticket: Ticket,
    target: ResponseTarget,
    at: dt.datetime,
    new_ticket: bool = False,
    live_clocks: list[SlaClock] | None = None,
) -> SlaClock:
    """Start the clock for ``target`` (or return the one already live: idempotent).

    ``new_ticket`` skips looking for a live clock on a ticket created in this
    transaction, which cannot have one yet; ``live_clocks`` (all the ticket's live
    clocks, when the caller has just read them) saves the query.
    """
    if new_ticket:
        live = None
    elif live_clocks is not None:
        live = next((c for c in live_clocks if c.target_id == target.id and c.is_live), None)
    else:
        live = SlaClock.objects.filter(
            ticket=ticket,
            target_id=target.id,
            status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED],
        ).first()
    if live is not None:
        return live
    clock = _clock_planned(ticket=ticket, target=target, at=at)
    clock.save()
    _schedule_timers(clock)
    return clock


def _clock_planned(*, ticket: Ticket, target: ResponseTarget, at: dt.datetime) -> SlaClock:
    """A running clock for ``target`` from ``at``, with its moments planned; not saved."""
    target_s, breach_s = target_seconds(get_policy(), target)
    clock = SlaClock(
        ticket=ticket,
        target_id=target.id,
        measure=target.measure,
        business=target.clock == ClockKind.BUSINESS,
        target_seconds=target_s,
        breach_seconds=breach_s,
        warn_fraction=target.warn_at,
        hours_of=target.hours_of or "",
        status=ClockStatus.RUNNING,
        started_at=at,
        segment_started_at=at,
    )
    _plan(clock)
    return clock


def clock_shift(*, clock: SlaClock, by: dt.timedelta) -> None:
    """Move a clock's history by ``by`` (imported or demo conversations dated in the
    past) and re-plan its moments; timers already queued for the old moments go stale."""
    for field in ("started_at", "segment_started_at", "stopped_at"):
        value = getattr(clock, field)
        if value is not None:
            setattr(clock, field, value + by)
    if clock.status == ClockStatus.RUNNING:
        _plan(clock)
        clock.save()
        _schedule_timers(clock)
        _sync_ticket_deadlines(clock.ticket)
    else:
        clock.save()


def clock_pause(*, clock: SlaClock, at: dt.datetime) -> None:
    if clock.status != ClockStatus.RUNNING or clock.segment_started_at is None:
        return
    clock.consumed_seconds += max(_elapsed(clock, start=clock.segment_started_at, end=at), 0)
    clock.segment_started_at = None
    clock.status = ClockStatus.PAUSED
    _plan(clock)
    clock.save()


def clock_resume(*, clock: SlaClock, at: dt.datetime) -> None:
    if clock.status != ClockStatus.PAUSED:
        return
    clock.segment_started_at = at
    clock.status = ClockStatus.RUNNING
    _plan(clock)
    clock.save()
    _schedule_timers(clock)


def clock_stop(*, clock: SlaClock, at: dt.datetime) -> SlaClock:
    """Stop the clock and record its outcome."""
    if not clock.is_live:
        return clock
    _stopped(clock, at)
    clock.save()
    events.sla_stopped(ticket=clock.ticket, clock=clock)
    return clock


# The fields ``_stopped`` changes (a batch writes them in one UPDATE).
STOPPED_FIELDS = [
    "status",
    "segment_started_at",
    "stopped_at",
    "elapsed_seconds",
    "elapsed_calendar_seconds",
    "over_breach_seconds",
    "outcome",
    "warn_at",
    "due_at",
    "breach_at",
]


def _stopped(clock: SlaClock, at: dt.datetime) -> None:
    """A live clock stopped at ``at`` with its outcome, in memory (not saved)."""
    consumed = clock.consumed_seconds
    if clock.status == ClockStatus.RUNNING and clock.segment_started_at is not None:
        consumed += max(_elapsed(clock, start=clock.segment_started_at, end=at), 0)
    clock.status = ClockStatus.STOPPED
    clock.segment_started_at = None
    clock.stopped_at = at
    clock.elapsed_seconds = consumed
    clock.elapsed_calendar_seconds = (at - clock.started_at).total_seconds()
    clock.over_breach_seconds = consumed - clock.breach_seconds
    if consumed <= clock.target_seconds:
        clock.outcome = Outcome.MET
    elif consumed <= clock.breach_seconds:
        clock.outcome = Outcome.MET_LATE
    else:
        clock.outcome = Outcome.BREACHED
    clock.warn_at = clock.due_at = clock.breach_at = None


def clock_cancel(*, clock: SlaClock, at: dt.datetime) -> None:
    """A promise that no longer applies (the ticket closed before any reply was owed)."""
    if not clock.is_live:
        return
    clock.status = ClockStatus.CANCELLED
    clock.stopped_at = at
    clock.segment_started_at = None
    clock.warn_at = clock.due_at = clock.breach_at = None
    clock.save()


# --- Hooks called by ticket services, inside their transaction


def _live(ticket: Ticket, measure: Measure) -> list[SlaClock]:
    return list(
        SlaClock.objects.filter(ticket=ticket)
        .filter(measure=measure, status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED])
        .select_related("ticket")
    )


def first_reply_clocks_planned(*, ticket: Ticket, at: dt.datetime) -> list[SlaClock]:
    """The first-reply clocks of a ticket about to be created, planned but not saved, with
    their due times already set on ``ticket``: its INSERT carries the deadlines and no
    UPDATE follows. Save them with ``first_reply_clocks_start`` once the ticket has its row.
    Only for standard tickets (a dispute also starts its resolution clock)."""
    clocks = [
        _clock_planned(ticket=ticket, target=target, at=at)
        for target in targets_for(ticket=ticket, measure=Measure.FIRST_REPLY)
    ]
    for field, value in _deadlines(clocks).items():
        setattr(ticket, field, value)
    return clocks


def first_reply_clocks_start(
    *, tickets: Sequence[Ticket], clocks: Sequence[SlaClock]
) -> list[PlannedTask]:
    """Save the clocks ``first_reply_clocks_planned`` gave for ``tickets`` (now saved) in one
    INSERT; returns their timers, for the caller to enqueue on commit in bulk."""
    rows_insert(list(clocks))
    return [timer for clock in clocks if (timer := next_timer(clock)) is not None]


def on_ticket_opened(*, ticket: Ticket, at: dt.datetime, new_ticket: bool = False) -> None:
    started = [
        clock_start(ticket=ticket, target=target, at=at, new_ticket=new_ticket)
        for target in targets_for(ticket=ticket, measure=Measure.FIRST_REPLY)
    ]
    if ticket.kind == TicketKind.DISPUTE:
        on_dispute_started(ticket=ticket, at=at)
        started = []  # re-read below: the dispute clock joined them
    _sync_ticket_deadlines(ticket, started if new_ticket and started else None)


def _live_clocks(ticket: Ticket) -> list[SlaClock]:
    """All the ticket's running and paused clocks in one query (messages are the hot
    path: a live chat writes one every few seconds)."""
    clocks = list(
        SlaClock.objects.filter(
            ticket=ticket, status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED]
        ).order_by("pk")
    )
    for clock in clocks:
        clock.ticket = ticket
    return clocks


def _running(clocks: list[SlaClock]) -> list[SlaClock]:
    return [clock for clock in clocks if clock.status == ClockStatus.RUNNING]


def on_agent_reply(*, ticket: Ticket, at: dt.datetime) -> None:
    clocks = _live_clocks(ticket)
    for clock in clocks:
        if clock.measure in (Measure.FIRST_REPLY, Measure.NEXT_REPLY):
            clock_stop(clock=clock, at=at)
    _sync_ticket_deadlines(ticket, _running(clocks))


def _live_clocks_by_ticket(tickets: Sequence[Ticket]) -> defaultdict[int, list[SlaClock]]:
    """The running and paused clocks of a batch's tickets, by ticket id, in one query."""
    live: defaultdict[int, list[SlaClock]] = defaultdict(list)
    for clock in _LIVE_CLOCKS(
        tickets=[ticket.pk for ticket in tickets],
        statuses=[ClockStatus.RUNNING, ClockStatus.PAUSED],
    ):
        live[clock.ticket_id].append(clock)
    return live


# Compiled once (core.rows_select): the read of every batch of replies and messages.
_LIVE_CLOCKS = Select(
    lambda tickets, statuses: SlaClock.objects.filter(
        ticket_id__any=tickets, status__any=statuses
    ).order_by("pk")
)


def on_agent_replies(*, replies: Sequence[tuple[Ticket, dt.datetime]]) -> ClockChanges:
    """``on_agent_reply`` for a batch (each ticket once, at its first reply): one query
    reads every live clock, the stopped ones are written in one UPDATE (their events
    recorded with the batch's). Returns each ticket's deadline fields that changed, for
    the batch's one UPDATE of its tickets (already set on the ticket objects)."""
    changes = ClockChanges()
    live = _live_clocks_by_ticket([ticket for ticket, _at in replies])
    stopped: list[SlaClock] = []
    for ticket, at in replies:
        clocks = live[ticket.pk]
        for clock in clocks:
            clock.ticket = ticket
            if clock.measure in (Measure.FIRST_REPLY, Measure.NEXT_REPLY):
                _stopped(clock, at)
                stopped.append(clock)
        changes.deadlines_follow(ticket, clocks)
    if stopped:
        rows_update(
            SlaClock,
            [clock.pk for clock in stopped],
            changed={
                name: {clock.pk: getattr(clock, name) for clock in stopped}
                for name in STOPPED_FIELDS
            },
        )
        for clock in stopped:
            events.sla_stopped(ticket=clock.ticket, clock=clock)
    return changes


@dataclass
class ClockChanges:
    """What customer messages did to a batch's clocks: the timers of clocks started (to
    enqueue on commit) and each ticket's deadline fields that changed (to write with the
    batch's one UPDATE of its tickets; already set on the ticket objects)."""

    timers: list[PlannedTask] = dataclasses.field(default_factory=list)
    deadlines: dict[int, dict[str, dt.datetime | None]] = dataclasses.field(default_factory=dict)

    def deadlines_follow(self, ticket: Ticket, clocks: list[SlaClock]) -> None:
        """Set the ticket's deadline fields from its running ``clocks``, and keep the
        ones that changed for the batch's UPDATE."""
        changed = {}
        for name, value in _deadlines(_running(clocks)).items():
            if getattr(ticket, name) != value:
                setattr(ticket, name, value)
                changed[name] = value
        if changed:
            self.deadlines[ticket.pk] = changed


def on_customer_messages(*, arrivals: Sequence[tuple[Ticket, dt.datetime]]) -> ClockChanges:
    """``on_customer_message`` for a batch (each ticket once, at its first new message):
    one query reads every live clock, new next-reply clocks are written in one INSERT."""
    changes = ClockChanges()
    tickets = [ticket for ticket, _at in arrivals]
    live = _live_clocks_by_ticket(tickets)
    started: list[SlaClock] = []
    for ticket, at in arrivals:
        clocks = live[ticket.pk]
        for clock in clocks:
            clock.ticket = ticket
            if clock.measure in (Measure.FIRST_REPLY, Measure.NEXT_REPLY, Measure.RESOLUTION):
                clock_resume(clock=clock, at=at)
        if ticket.first_replied_at is not None:
            for target in targets_for(ticket=ticket, measure=Measure.NEXT_REPLY):
                if any(c.target_id == target.id and c.is_live for c in clocks):
                    continue
                clock = _clock_planned(ticket=ticket, target=target, at=at)
                started.append(clock)
                clocks.append(clock)
        changes.deadlines_follow(ticket, clocks)
    rows_insert(started)
    changes.timers = [timer for clock in started if (timer := next_timer(clock)) is not None]
    return changes


def deadlines_changed(
    deadlines: dict[int, dict[str, dt.datetime | None]],
) -> dict[str, dict[int, dt.datetime | None]]:
    """Each deadline field's new values by ticket, for ``rows_update``'s ``changed``
    (the batch's one UPDATE of its tickets; the other tickets keep theirs)."""
    by_field: dict[str, dict[int, dt.datetime | None]] = {}
    for name in DEADLINE_FIELDS.values():
        values = {pk: changed[name] for pk, changed in deadlines.items() if name in changed}
        if values:
            by_field[name] = values
    return by_field


def on_customer_message(*, ticket: Ticket, at: dt.datetime) -> None:
    """A new customer message owes a reply: the next-reply clock starts (if a first
    reply was already given), and clocks paused while waiting on the customer resume."""
    changes = on_customer_messages(arrivals=[(ticket, at)])
    if changes.deadlines:
        Ticket.objects.filter(pk=ticket.pk).update(**changes.deadlines[ticket.pk])
    if changes.timers:
        transaction.on_commit(partial(tasks_enqueue_many, changes.timers))


def on_status_changed(*, ticket: Ticket, old: str, new: str, at: dt.datetime) -> None:
    from tickets.choices import TicketStatus

    if new == TicketStatus.PENDING:
        # Waiting on the customer: resolution time stops counting.
        for clock in _live(ticket, Measure.RESOLUTION):
            clock_pause(clock=clock, at=at)
    elif old == TicketStatus.PENDING and new not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        for clock in _live(ticket, Measure.RESOLUTION):
            clock_resume(clock=clock, at=at)
    if new in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        for clock in _live(ticket, Measure.RESOLUTION):
            clock_stop(clock=clock, at=at)
        for measure in (Measure.FIRST_REPLY, Measure.NEXT_REPLY):
            for clock in _live(ticket, measure):
                clock_cancel(clock=clock, at=at)
    _sync_ticket_deadlines(ticket)


def on_dispute_started(*, ticket: Ticket, at: dt.datetime) -> None:
    for target in targets_for(ticket=ticket, measure=Measure.RESOLUTION):
        clock_start(ticket=ticket, target=target, at=at)
    _sync_ticket_deadlines(ticket)


def on_conversation_merged(
    *, ticket: Ticket, owed_since: dt.datetime | None, at: dt.datetime
) -> None:
    """Other conversations were merged into ``ticket`` (tickets/merge.py): its reply
    clocks are recomputed from the merged thread. ``owed_since``: the first customer
    message after the last public reply (None: nothing is owed).

    A live reply clock that started at or before ``owed_since`` keeps running (its
    promise is the older one); otherwise the clock of the right measure (first reply
    if the conversation never had one, else next reply) starts at ``owed_since``, so a
    customer who wrote on the duplicate earlier is answered by that earlier deadline.
    Moments already past fire at once through the usual timers.
    """
    measure = Measure.FIRST_REPLY if ticket.first_replied_at is None else Measure.NEXT_REPLY
    clocks = _live_clocks(ticket)
    kept: set[str] = set()
    for clock in clocks:
        if clock.measure not in (Measure.FIRST_REPLY, Measure.NEXT_REPLY):
            continue
        if owed_since is not None and clock.measure == measure and clock.started_at <= owed_since:
            kept.add(clock.target_id)
        else:
            clock_cancel(clock=clock, at=at)
    if owed_since is not None:
        for target in targets_for(ticket=ticket, measure=measure):
            if target.id not in kept:
                clock = _clock_planned(ticket=ticket, target=target, at=owed_since)
                clock.save()
                _schedule_timers(clock)
    _sync_ticket_deadlines(ticket)


# --- Timers


def _target_title(target_id: str) -> str:
    try:
        return get_policy().target(target_id).title
    except KeyError:
        return target_id


@transaction.atomic
def clock_fire(*, clock_id: int, moment: str, expected_at: str) -> str:
    """A timer for ``moment`` fired. Returns what happened, for logs and tests.

    The clock is re-read under a lock; a timer whose moment has moved (the clock was
    paused, stopped or re-planned) or that already fired does nothing.
    """
    clock = SlaClock.objects.select_for_update(no_key=True).filter(pk=clock_id).first()
    if clock is None:
        return "gone"
    if clock.status != ClockStatus.RUNNING:
        return "not running"
    if moment not in MOMENT_FIELDS:
        return "unknown moment"
    planned = getattr(clock, MOMENT_FIELDS[moment])
    if planned is None or planned.isoformat() != expected_at:
        return "stale"
    flag = MOMENT_FLAGS[moment]
    if getattr(clock, flag) is not None:
        return "duplicate"
    now = timezone.now()
    if now < planned:
        # Ran early (a worker's clock is behind): try again at the planned moment.
        from sla.tasks import sla_clock_fire

        transaction.on_commit(
            partial(
                sla_clock_fire.using(run_after=planned).enqueue,
                clock_id=clock.pk,
                moment=moment,
                expected_at=expected_at,
            )
        )
        return "early"
    setattr(clock, flag, now)
    clock.save(update_fields=[flag])
    _schedule_timers(clock, after=moment)
    ticket = Ticket.objects.select_related("assignee").get(pk=clock.ticket_id)
    title = _target_title(clock.target_id)
    if moment == "warn":
        events.sla_warned(ticket=ticket, clock=clock)
        text = f"{ticket.reference}: {title} is due soon."
    elif moment == "target":
        events.sla_target_missed(ticket=ticket, clock=clock)
        text = f"{ticket.reference}: {title} target missed; the breach limit is next."
    else:
        events.sla_breached(ticket=ticket, clock=clock)
        text = f"{ticket.reference}: {title} breached."
    notify_ticket_owner(ticket=ticket, kind=f"sla_{moment}", text=text)
    from tickets import realtime

    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket.pk))
    return moment
