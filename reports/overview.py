"""Today at a glance, for the reports landing page: live counts read straight from the
tickets, clocks, chat queue and presence (one aggregate query per figure), plus this
week's ratings from the daily rollups."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import STAFF_ROLES
from chat.availability import online_cutoff
from chat.models import AgentPresence, ChatSession, Presence, SessionState
from policy.loader import get_policy
from reports.models import CsatRollup
from reports.ranges import DateRange
from reports.selectors import duration_text
from sla.models import ClockStatus, SlaClock
from tickets.choices import ACTIVE_STATUSES, UNRESOLVED_STATUSES, TicketStatus
from tickets.models import Ticket

LIVE_CLOCKS = (ClockStatus.RUNNING, ClockStatus.PAUSED)


@dataclass(frozen=True)
class PromiseNow:
    """One published promise's live clocks: inside the warning window, or past the limit."""

    target_id: str
    title: str
    promise: str
    running: int
    breaching: int
    breached: int


@dataclass(frozen=True)
class Overview:
    now: dt.datetime
    week: DateRange
    open: int
    unassigned: int
    waiting: int
    promises: list[PromiseNow]
    chat_waiting: int
    chat_oldest_queued_at: dt.datetime | None
    agents_online: int
    csat_ratings: int
    csat_average: float | None
    csat_scale: tuple[int, int]
    links: dict[str, str]

    @property
    def longest_chat_wait_seconds(self) -> float | None:
        if self.chat_oldest_queued_at is None:
            return None
        return max((self.now - self.chat_oldest_queued_at).total_seconds(), 0.0)

    @property
    def longest_chat_wait_text(self) -> str:
        return duration_text(self.longest_chat_wait_seconds)


def ticket_counts() -> dict[str, int]:
    counts = Ticket.objects.aggregate(
        open=Count("pk", filter=Q(status__in=UNRESOLVED_STATUSES)),
        unassigned=Count("pk", filter=Q(status__in=ACTIVE_STATUSES, assignee__isnull=True)),
        waiting=Count("pk", filter=Q(status=TicketStatus.PENDING)),
    )
    return {key: value or 0 for key, value in counts.items()}


def promises_now(now: dt.datetime) -> list[PromiseNow]:
    """Per published promise: live clocks, those warning (not yet past the limit) and
    those past it. A paused clock past its limit stays breached."""
    targets = [t for t in get_policy().response_targets if t.published]
    past_limit = Q(breached_at__isnull=False) | Q(breach_at__lte=now)
    rows = {
        target_id: (running, breaching, breached)
        for target_id, running, breaching, breached in SlaClock.objects.filter(
            status__in=LIVE_CLOCKS, target_id__in=[t.id for t in targets]
        )
        .values_list("target_id")
        .annotate(
            running=Count("pk"),
            breaching=Count("pk", filter=Q(warn_at__lte=now) & ~past_limit),
            breached=Count("pk", filter=past_limit),
        )
        .order_by()
    }
    return [PromiseNow(t.id, t.title, t.promise, *rows.get(t.id, (0, 0, 0))) for t in targets]


def chat_queue() -> tuple[int, dt.datetime | None]:
    queue = ChatSession.objects.filter(state=SessionState.WAITING).aggregate(
        n=Count("pk"), oldest=Min("queued_at")
    )
    return queue["n"] or 0, queue["oldest"]


def agents_online(now: dt.datetime) -> int:
    """Staff whose console is online for chats now (customers never count, whatever
    their presence row says)."""
    return AgentPresence.objects.filter(
        status=Presence.ONLINE,
        last_seen_at__gte=online_cutoff(now),
        agent__is_active=True,
        agent__role__in=STAFF_ROLES,
    ).count()


def this_week(today: dt.date) -> DateRange:
    return DateRange(today - dt.timedelta(days=today.weekday()), today)


def csat(week: DateRange) -> tuple[int, float | None]:
    totals = CsatRollup.objects.filter(day__gte=week.first, day__lte=week.last).aggregate(
        n=Sum("count"), points=Sum(F("count") * F("score"))
    )
    n, points = totals["n"] or 0, totals["points"] or 0
    return n, (points / n if n else None)


def overview(now: dt.datetime | None = None) -> Overview:
    now = now or timezone.now()
    policy = get_policy()
    today = timezone.localdate(now, policy.calendar.zone)
    week = this_week(today)
    counts = ticket_counts()
    waiting, oldest = chat_queue()
    ratings, average = csat(week)
    inbox = reverse("console:inbox")
    links = {
        "open": f"{inbox}?view=open",
        "unassigned": f"{inbox}?view=unassigned",
        "waiting": f"{inbox}?view=pending",
        "sla_board": reverse("console:sla_board"),
        "compliance": f"{reverse('reports:report', args=['compliance'])}?{week.query()}",
        "chat": reverse("chat:desk"),
        "agents": f"{reverse('reports:report', args=['agents'])}?{week.query()}",
        "csat": f"{reverse('reports:report', args=['csat'])}?{week.query()}",
        "times": f"{reverse('reports:report', args=['times'])}?{week.query()}",
    }
    return Overview(
        now=now,
        week=week,
        open=counts["open"],
        unassigned=counts["unassigned"],
        waiting=counts["waiting"],
        promises=promises_now(now),
        chat_waiting=waiting,
        chat_oldest_queued_at=oldest,
        agents_online=agents_online(now),
        csat_ratings=ratings,
        csat_average=average,
        csat_scale=(policy.feedback.scale_min, policy.feedback.scale_max),
        links=links,
    )
