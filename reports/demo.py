"""Demo history, realistic timings, ratings and rollups, so every report page has
something a supervisor would recognise to show."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from chat.models import ChatSession
from reports import rollups
from sla import services as sla_services
from sla.clocks import business_clock
from sla.models import ClockStatus, Outcome, SlaClock
from tickets import events
from tickets.choices import Channel, Direction, TicketStatus
from tickets.models import Message, Ticket, TicketEvent

_COMMENTS = [
    "",
    "",
    "Quick and polite, thank you.",
    "Took two days to get an answer.",
    "Sorted my refund the same day!",
    "",
]


# Minutes from the customer's message to the first answer, and from the answer to the
# solution: (low, typical, high) for a triangular draw, so medians land near "typical"
# and a few conversations run long, as they do.
Spec = tuple[float, float, float]

_FIRST_RESPONSE_MINUTES: dict[str, Spec] = {
    Channel.LIVE_CHAT: (0.5, 2.0, 9.0),
    Channel.FACEBOOK: (10, 70, 400),
    Channel.INSTAGRAM: (10, 70, 400),
    Channel.TIKTOK: (10, 70, 400),
}
_EMAIL_FIRST_RESPONSE_MINUTES: Spec = (20, 150, 1500)  # email, form and API: within 24 h mostly
_RESOLUTION_MINUTES: dict[str, Spec] = {Channel.LIVE_CHAT: (3, 12, 45)}
_OTHER_RESOLUTION_MINUTES: Spec = (45, 900, 5000)
_SAME_INSTANT = dt.timedelta(minutes=1)


def _minutes(rng: random.Random, spec: Spec) -> dt.timedelta:
    low, mode, high = spec
    return dt.timedelta(minutes=rng.triangular(low, high, mode))


def _recompute_stopped(clock: SlaClock) -> None:
    """A stopped clock's outcome from its (moved) start and stop, as clock_stop does."""
    assert clock.stopped_at is not None
    if clock.business:
        consumed = business_clock(clock.hours_of).between(clock.started_at, clock.stopped_at)
    else:
        consumed = (clock.stopped_at - clock.started_at).total_seconds()
    clock.elapsed_seconds = consumed
    clock.elapsed_calendar_seconds = (clock.stopped_at - clock.started_at).total_seconds()
    clock.over_breach_seconds = consumed - clock.breach_seconds
    if consumed <= clock.target_seconds:
        clock.outcome = Outcome.MET
    elif consumed <= clock.breach_seconds:
        clock.outcome = Outcome.MET_LATE
    else:
        clock.outcome = Outcome.BREACHED


@dataclass(frozen=True)
class _Stretch:
    """How far a moment of one conversation moves back: all of it before the first
    answer, the resolution time between the answer and the solution, nothing after."""

    mark: dt.datetime
    resolved: dt.datetime | None
    first: dt.timedelta
    solve: dt.timedelta

    def shift(self, moment: dt.datetime) -> dt.timedelta:
        if moment < self.mark:
            return -(self.first + self.solve)
        if self.resolved is not None and moment < self.resolved:
            return -self.solve
        return dt.timedelta(0)


_CLOCK_MOMENTS = (
    "started_at",
    "segment_started_at",
    "stopped_at",
    "warn_at",
    "due_at",
    "breach_at",
    "warned_at",
    "target_missed_at",
    "breached_at",
)


def spread_timings(*, rng: random.Random) -> int:
    """Stretch demo conversations that were answered and solved in the same instant into
    realistic ones: the customer's message moves back by a first-response time drawn for
    its channel, and everything before the solution by a resolution time. The solution
    keeps its moment, so nothing lands in the future; messages, events, SLA clocks (with
    their outcomes) and chat sessions move with their conversation."""
    stretched = 0
    candidates = Ticket.objects.filter(first_replied_at__isnull=False) | Ticket.objects.filter(
        resolved_at__isnull=False
    )
    for ticket in candidates.order_by("pk"):
        replied, resolved = ticket.first_replied_at, ticket.resolved_at
        quick_reply = replied is not None and replied - ticket.created_at < _SAME_INSTANT
        quick_solve = resolved is not None and resolved - ticket.created_at < _SAME_INSTANT
        if not (quick_reply or quick_solve):
            continue
        first_out = (
            Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND)
            .order_by("created_at", "pk")
            .values_list("created_at", flat=True)
            .first()
        )
        reply_mark = first_out or replied or resolved
        assert reply_mark is not None
        first = (
            _minutes(
                rng, _FIRST_RESPONSE_MINUTES.get(ticket.channel, _EMAIL_FIRST_RESPONSE_MINUTES)
            )
            if replied is not None
            else dt.timedelta(0)
        )
        solve = (
            _minutes(rng, _RESOLUTION_MINUTES.get(ticket.channel, _OTHER_RESOLUTION_MINUTES))
            if resolved is not None
            else dt.timedelta(0)
        )

        stretch = _Stretch(mark=reply_mark, resolved=resolved, first=first, solve=solve)
        for model in (Message, TicketEvent):
            for pk, created in model.objects.filter(ticket=ticket).values_list("pk", "created_at"):
                if by := stretch.shift(created):
                    model.objects.filter(pk=pk).update(created_at=created + by)
        for clock in SlaClock.objects.filter(ticket=ticket).select_related("ticket"):
            if clock.is_live:
                # Still running: the whole clock moves with its start, and re-plans.
                if by := stretch.shift(clock.started_at):
                    sla_services.clock_shift(clock=clock, by=by)
                continue
            for name in _CLOCK_MOMENTS:
                value = getattr(clock, name)
                if value is not None:
                    setattr(clock, name, value + stretch.shift(value))
            if clock.status == ClockStatus.STOPPED and clock.outcome:
                _recompute_stopped(clock)
            clock.save()
        for session in ChatSession.objects.filter(ticket=ticket):
            for name in ("queued_at", "assigned_at", "accepted_at"):
                value = getattr(session, name)
                if value is not None:
                    setattr(session, name, value + stretch.shift(value))
            session.save()
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=ticket.created_at + stretch.shift(ticket.created_at),
            first_replied_at=replied + stretch.shift(replied) if replied else None,
        )
        stretched += 1
    return stretched


_HISTORY = [
    ("order_status", "When will my order arrive? The tracking has not moved for days."),
    ("order_status", "My parcel shows delivered but I never received it."),
    ("returns", "The shoes are too small, how do I return them?"),
    ("returns", "I sent the blender back last week, has the return been accepted?"),
    ("payments", "I was charged twice for the same order."),
    ("payments", "My refund has not reached my bank account yet."),
    ("technical_support", "The app logs me out every time I open my cart."),
    ("technical_support", "I cannot reset my password, the code never arrives."),
]
_HISTORY_CHANNELS = (
    [Channel.EMAIL] * 4
    + [Channel.LIVE_CHAT] * 3
    + [
        Channel.WEB_FORM,
        Channel.WEB_FORM,
        Channel.FACEBOOK,
        Channel.INSTAGRAM,
    ]
)
_HISTORY_REPLY = (
    "Thank you for your patience. I have looked into this and sorted it: you will see "
    "the update on your order page shortly."
)


def seed_history(*, count: int, rng: random.Random) -> int:
    """Solved conversations over the past six weeks, through the same services as live
    traffic, so the trends and per-agent figures have more than a handful of points."""
    from core.demo import _CATEGORY_AGENT, _backdate
    from tickets import services
    from tickets.models import OutboundMessage

    buyers = list(User.objects.filter(role=Role.BUYER).order_by("pk"))
    agents = {u.username: u for u in User.objects.filter(username__in=_CATEGORY_AGENT.values())}
    if not buyers or not agents:
        return 0
    now = timezone.now()
    for n in range(count):
        category, body = rng.choice(_HISTORY)
        ticket = services.ticket_open(
            requester=buyers[n % len(buyers)],
            channel=rng.choice(_HISTORY_CHANNELS),
            body=body,
            category=category,
        )
        agent = agents[_CATEGORY_AGENT[category]]
        services.ticket_reply(ticket=ticket, author=agent, body=_HISTORY_REPLY)
        OutboundMessage.objects.filter(message__ticket=ticket).update(
            status="sent", sent_at=timezone.now(), attempts=1
        )
        services.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)
        # Solved at varied times of day over six weeks, at least two hours ago.
        day = rng.randint(1, 42)
        solved = now - dt.timedelta(days=day, hours=rng.randint(-8, 8))
        _backdate(ticket, min(solved, now - dt.timedelta(hours=2)))
    return count


def seed_reports_demo(
    *, progress: Callable[[str], None] = lambda _: None, history: int = 60
) -> None:
    """Give the demo conversations realistic response and resolution times, rate the
    solved ones (at the time they were solved), then build the rollups once the demo
    transaction commits."""
    rng = random.Random(9)
    progress(f"{seed_history(count=history, rng=rng)} solved conversations in the past weeks")
    progress(f"{spread_timings(rng=rng)} demo conversations given realistic timings")
    solved = Ticket.objects.filter(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
    rated = 0
    for ticket in solved.exclude(events__kind="rated"):
        event = events.rated(
            ticket=ticket,
            actor=ticket.requester,
            channel=ticket.channel,
            score=rng.choice([5, 5, 4, 4, 3, 2]),
            comment=rng.choice(_COMMENTS),
        )
        moment = ticket.resolved_at or ticket.updated_at
        TicketEvent.objects.filter(pk=event.pk).update(created_at=moment)
        rated += 1
    progress(f"{rated} demo ratings")

    def rebuild() -> None:
        span = rollups.data_span()
        if span is not None:
            rollups.rebuild_range(first=span[0], last=span[1])

    transaction.on_commit(rebuild)
