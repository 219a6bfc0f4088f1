"""Writes of the daily rollups: recompute whole days from the raw rows.

``rebuild_days`` is the only writer. It deletes and recomputes every rollup of a run of
days in one transaction, so it is idempotent and safe to run late or twice. Background
refreshes (``refresh_dirty``) recompute only the days touched by tickets that changed;
``./manage.py reports_rebuild`` recomputes any range.
"""

from __future__ import annotations

import datetime as dt
import heapq
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from accounts.models import STAFF_ROLES
from helpcenter.models import Deflection
from policy.loader import get_policy
from reports import histogram
from reports.models import (
    AgentRollup,
    BreachRollup,
    ComplianceRollup,
    CsatRollup,
    DayTotals,
    DeflectionRollup,
    DirtyDay,
    DirtyTicket,
    EscalationOutcome,
    EscalationRollup,
    EventRollup,
    TimingMetric,
    TimingRollup,
    VolumeRollup,
)
from sla.models import ClockStatus, Escalation, SlaClock
from tickets.choices import EventKind
from tickets.models import Ticket, TicketEvent

ROLLUP_MODELS = (
    VolumeRollup,
    TimingRollup,
    ComplianceRollup,
    BreachRollup,
    CsatRollup,
    EventRollup,
    EscalationRollup,
    AgentRollup,
    DeflectionRollup,
    DayTotals,
)

# Event kinds counted per day (escalations, conduct, SLA, ratings, resolutions).
COUNTED_EVENT_KINDS = (
    EventKind.ESCALATED,
    EventKind.CONDUCT_VIOLATION,
    EventKind.TERMINATED,
    EventKind.SLA_BREACHED,
    EventKind.SLA_TARGET_MISSED,
    EventKind.RATED,
    EventKind.RESOLVED,
    EventKind.MESSAGE_IN,
    EventKind.MESSAGE_OUT,
)

BULK = 5000


def team_zone() -> zoneinfo.ZoneInfo:
    return get_policy().calendar.zone


def day_start(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def local_day(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def contiguous_runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days grouped into (first, last) runs of consecutive days."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def chunks(first: dt.date, last: dt.date, days: int) -> Iterator[tuple[dt.date, dt.date]]:
    start = first
    while start <= last:
        end = min(last, start + dt.timedelta(days=days - 1))
        yield start, end
        start = end + dt.timedelta(days=1)


# Any fixed number: the PostgreSQL advisory lock that serialises rollup writers.
ROLLUP_LOCK_KEY = 720_901


def _serialise_writers() -> None:
    """Hold the rollup lock until the transaction ends (PostgreSQL; SQLite has one writer).

    Two workers recomputing the same day at once would each delete the old rows and then
    insert the same keys; the second would fail on the unique constraints.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])


Ranges = list[tuple[dt.datetime, dt.datetime]]


def _within(field: str, ranges: Ranges) -> Q:
    """``field`` inside any of the [low, high) ranges: one query for scattered days."""
    condition = Q()
    for low, high in ranges:
        condition |= Q(**{f"{field}__gte": low, f"{field}__lt": high})
    return condition


def rebuild_days(*, first: dt.date, last: dt.date) -> None:
    """Recompute every rollup for the days ``first`` to ``last`` (team time zone)."""
    rebuild_runs([(first, last)])


@transaction.atomic
def rebuild_runs(runs: list[tuple[dt.date, dt.date]]) -> None:
    """Recompute every rollup for several runs of days at once (each source read once)."""
    if not runs:
        return
    _serialise_writers()
    zone = team_zone()
    ranges = [
        (day_start(first, zone), day_start(last + dt.timedelta(days=1), zone))
        for first, last in runs
    ]
    days = Q()
    for first, last in runs:
        days |= Q(day__gte=first, day__lte=last)
    for model in ROLLUP_MODELS:
        model.objects.filter(days).delete()
    _volume(ranges, zone)
    _timings_and_agents(ranges, zone)
    _compliance(ranges, zone)
    _csat(ranges, zone)
    _events(ranges, zone)
    _escalations(ranges, zone)
    _deflections(ranges, zone)
    _day_totals(days)


def rebuild_range(
    *,
    first: dt.date,
    last: dt.date,
    chunk_days: int = 31,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild ``first``..``last`` a chunk at a time; returns the number of days rebuilt."""
    done = 0
    for start, end in chunks(first, last, chunk_days):
        rebuild_days(first=start, last=end)
        count = (end - start).days + 1
        done += count
        if progress is not None:
            progress(count)
    return done


def data_span() -> tuple[dt.date, dt.date] | None:
    """First and last day with any ticket, in team time; None for an empty database."""
    zone = team_zone()
    first = Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return None
    return local_day(first, zone), timezone.localdate(timezone.now(), zone)


# --- incremental refresh


def mark_tickets_dirty(ticket_ids: Iterable[int]) -> None:
    DirtyTicket.objects.bulk_create(
        [DirtyTicket(ticket_id=pk) for pk in set(ticket_ids)], ignore_conflicts=True
    )


def mark_days_dirty(days: Iterable[dt.date]) -> None:
    DirtyDay.objects.bulk_create([DirtyDay(day=day) for day in set(days)], ignore_conflicts=True)


def ticket_days(ticket_ids: list[int], zone: zoneinfo.ZoneInfo) -> set[dt.date]:
    """Every day a rollup may count one of these tickets on."""
    moments: list[dt.datetime | None] = []
    for row in Ticket.objects.filter(pk__in=ticket_ids).values_list(
        "created_at", "first_replied_at", "resolved_at"
    ):
        moments.extend(row)
    moments.extend(
        TicketEvent.objects.filter(ticket_id__in=ticket_ids).values_list("created_at", flat=True)
    )
    for ends in SlaClock.objects.filter(ticket_id__in=ticket_ids).values_list(
        "stopped_at", "breached_at"
    ):
        moments.extend(ends)
    moments.extend(
        Escalation.objects.filter(ticket_id__in=ticket_ids).values_list("created_at", flat=True)
    )
    return {local_day(moment, zone) for moment in moments if moment is not None}


def refresh_dirty(*, batch: int = 500) -> int:
    """Recompute the days of the tickets and days marked dirty; returns the days rebuilt.

    Markers are taken and deleted in the same transaction as the recomputation, so a
    marker written meanwhile (another change) survives for the next refresh.
    """
    zone = team_zone()
    rebuilt = 0
    while True:
        with transaction.atomic():
            _serialise_writers()
            ticket_ids = list(DirtyTicket.objects.values_list("ticket_id", flat=True)[:batch])
            day_markers = list(DirtyDay.objects.values_list("day", flat=True)[:batch])
            if not ticket_ids and not day_markers:
                return rebuilt
            days = ticket_days(ticket_ids, zone) | set(day_markers)
            DirtyTicket.objects.filter(ticket_id__in=ticket_ids).delete()
            DirtyDay.objects.filter(day__in=day_markers).delete()
            runs = contiguous_runs(days)
            rebuild_runs(runs)
            rebuilt += sum((last - first).days + 1 for first, last in runs)


# --- one function per rollup; each reads [low, high) and writes its rows


def _volume(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    rows = (
        Ticket.objects.filter(_within("created_at", ranges))
        .annotate(
            day=TruncDate("created_at", tzinfo=zone), hour=ExtractHour("created_at", tzinfo=zone)
        )
        .values("day", "hour", "channel", "category")
        .annotate(created=Count("id"))
        .order_by()
    )
    VolumeRollup.objects.bulk_create((VolumeRollup(**row) for row in rows), batch_size=BULK)


def _timings_and_agents(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    timings: dict[tuple[dt.date, str, str, str], TimingRollup] = {}
    agents: dict[tuple[dt.date, int], AgentRollup] = {}

    def timing(day: dt.date, metric: str, channel: str, category: str) -> TimingRollup:
        key = (day, metric, channel, category)
        if key not in timings:
            timings[key] = TimingRollup(
                day=day,
                metric=metric,
                channel=channel,
                category=category,
                buckets=histogram.empty(),
            )
        return timings[key]

    def agent(day: dt.date, agent_id: int) -> AgentRollup:
        if (day, agent_id) not in agents:
            agents[(day, agent_id)] = AgentRollup(day=day, agent_id=agent_id)
        return agents[(day, agent_id)]

    def count(row: TimingRollup, seconds: float) -> None:
        row.count += 1
        row.total_seconds += seconds
        row.buckets[histogram.bucket_of(seconds)] += 1

    first_replies = Ticket.objects.filter(_within("first_replied_at", ranges)).values_list(
        "created_at", "first_replied_at", "channel", "category"
    )
    for created, replied, channel, category in first_replies.iterator(chunk_size=BULK):
        assert replied is not None  # filtered on it
        seconds = (replied - created).total_seconds()
        count(
            timing(local_day(replied, zone), TimingMetric.FIRST_RESPONSE, channel, category),
            seconds,
        )

    resolutions = Ticket.objects.filter(_within("resolved_at", ranges)).values_list(
        "created_at", "resolved_at", "channel", "category", "assignee_id"
    )
    for created, resolved, channel, category, assignee_id in resolutions.iterator(chunk_size=BULK):
        assert resolved is not None  # filtered on it
        seconds = (resolved - created).total_seconds()
        day = local_day(resolved, zone)
        count(timing(day, TimingMetric.RESOLUTION, channel, category), seconds)
        if assignee_id is not None:
            row = agent(day, assignee_id)
            row.resolved += 1
            row.resolution_seconds += seconds

    work = (
        TicketEvent.objects.filter(
            _within("created_at", ranges),
            kind__in=[EventKind.MESSAGE_OUT, EventKind.NOTE_ADDED],
            # Sellers answering disputes write replies too; only support staff are agents.
            actor__role__in=STAFF_ROLES,
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "kind", "actor_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for item in work:
        row = agent(item["day"], item["actor_id"])
        if item["kind"] == EventKind.MESSAGE_OUT:
            row.replies += item["n"]
        else:
            row.notes += item["n"]
    assignments = TicketEvent.objects.filter(
        _within("created_at", ranges), kind=EventKind.ASSIGNED
    ).values_list("created_at", "data")
    for created, data in assignments.iterator(chunk_size=BULK):
        new = data.get("new") if isinstance(data, dict) else None
        if isinstance(new, int):
            agent(local_day(created, zone), new).assigned += 1

    TimingRollup.objects.bulk_create(timings.values(), batch_size=BULK)
    AgentRollup.objects.bulk_create(agents.values(), batch_size=BULK)


def _compliance(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    now = timezone.now()
    live = [ClockStatus.RUNNING, ClockStatus.PAUSED]
    clocks = SlaClock.objects.filter(
        (Q(status=ClockStatus.STOPPED) & _within("stopped_at", ranges))
        | (Q(status__in=live) & _within("breached_at", ranges))
    ).exclude(status=ClockStatus.STOPPED, outcome="")
    rows: dict[tuple[dt.date, str, str], ComplianceRollup] = {}
    worst: dict[tuple[dt.date, str], list[tuple[float, int]]] = defaultdict(list)
    for (
        target_id,
        channel,
        status,
        outcome,
        stopped,
        breached,
        breach_at,
        over,
        ticket_id,
    ) in clocks.values_list(
        "target_id",
        "ticket__channel",
        "status",
        "outcome",
        "stopped_at",
        "breached_at",
        "breach_at",
        "over_breach_seconds",
        "ticket_id",
    ).iterator(chunk_size=BULK):
        if status == ClockStatus.STOPPED:
            assert stopped is not None  # a stopped clock records when
            day = local_day(stopped, zone)
        else:
            assert breached is not None  # filtered on it
            day, outcome = local_day(breached, zone), "breached"
            over = (now - breach_at).total_seconds() if breach_at else over
        key = (day, target_id, channel)
        if key not in rows:
            rows[key] = ComplianceRollup(day=day, target_id=target_id, channel=channel)
        row = rows[key]
        if outcome == "met":
            row.met += 1
        elif outcome == "met_late":
            row.met_late += 1
        else:
            row.breached += 1
            heap = worst[(day, target_id)]
            item = (over or 0.0, ticket_id)
            if len(heap) < BreachRollup.WORST_PER_DAY:
                heapq.heappush(heap, item)
            else:
                heapq.heappushpop(heap, item)
    ComplianceRollup.objects.bulk_create(rows.values(), batch_size=BULK)
    BreachRollup.objects.bulk_create(
        (
            BreachRollup(day=day, target_id=target_id, ticket_id=ticket_id, over_seconds=over)
            for (day, target_id), heap in worst.items()
            for over, ticket_id in heap
        ),
        batch_size=BULK,
    )


def _csat(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    # A customer may change a rating: only a ticket's latest RATED event counts.
    later = TicketEvent.objects.filter(
        ticket_id=OuterRef("ticket_id"), kind=EventKind.RATED, id__gt=OuterRef("id")
    )
    ratings = (
        TicketEvent.objects.filter(_within("created_at", ranges), kind=EventKind.RATED)
        .exclude(Exists(later))
        .values_list(
            "created_at", "data", "ticket__channel", "ticket__category", "ticket__assignee_id"
        )
    )
    counts: dict[tuple[dt.date, str, str, int | None, int], int] = defaultdict(int)
    for created, data, ticket_channel, category, assignee_id in ratings.iterator(chunk_size=BULK):
        score = _score(data)
        if score is None:
            continue
        channel = str(data.get("channel") or ticket_channel)
        counts[(local_day(created, zone), channel, category, assignee_id, score)] += 1
    CsatRollup.objects.bulk_create(
        (
            CsatRollup(
                day=day,
                channel=channel,
                category=category,
                agent_id=agent_id,
                score=score,
                count=n,
            )
            for (day, channel, category, agent_id, score), n in counts.items()
        ),
        batch_size=BULK,
    )


def _score(data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    try:
        score = int(data.get("score"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return score if 1 <= score <= 5 else None


def _events(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    rows = (
        TicketEvent.objects.filter(_within("created_at", ranges), kind__in=COUNTED_EVENT_KINDS)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "kind", "ticket__channel", "ticket__category")
        .annotate(count=Count("id"))
        .order_by()
    )
    EventRollup.objects.bulk_create(
        (
            EventRollup(
                day=row["day"],
                kind=row["kind"],
                channel=row["ticket__channel"],
                category=row["ticket__category"],
                count=row["count"],
            )
            for row in rows
        ),
        batch_size=BULK,
    )


def _escalations(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    counts: dict[tuple[dt.date, str, str], int] = defaultdict(int)
    escalations = Escalation.objects.filter(_within("created_at", ranges)).values_list(
        "created_at", "channel", "contacted_at", "contact_due_at"
    )
    for created, channel, contacted, due in escalations.iterator(chunk_size=BULK):
        if contacted is None:
            outcome = EscalationOutcome.OPEN
        elif contacted <= due:
            outcome = EscalationOutcome.CONTACTED_IN_TIME
        else:
            outcome = EscalationOutcome.CONTACTED_LATE
        counts[(local_day(created, zone), channel, outcome)] += 1
    EscalationRollup.objects.bulk_create(
        EscalationRollup(day=day, channel=channel, outcome=outcome, count=n)
        for (day, channel, outcome), n in counts.items()
    )


def _deflections(ranges: Ranges, zone: zoneinfo.ZoneInfo) -> None:
    rows = (
        Deflection.objects.filter(_within("created_at", ranges))
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "source")
        .annotate(count=Count("id"))
        .order_by()
    )
    DeflectionRollup.objects.bulk_create(DeflectionRollup(**row) for row in rows)


def _day_totals(days: Q) -> None:
    """Per-day totals from the volume and resolution rollups just written."""
    totals: dict[dt.date, DayTotals] = {}
    for day, opened in (
        VolumeRollup.objects.filter(days).values_list("day").annotate(Sum("created")).order_by()
    ):
        totals[day] = DayTotals(day=day, opened=opened)
    for day, resolved in (
        TimingRollup.objects.filter(days, metric=TimingMetric.RESOLUTION)
        .values_list("day")
        .annotate(Sum("count"))
        .order_by()
    ):
        totals.setdefault(day, DayTotals(day=day)).resolved = resolved
    DayTotals.objects.bulk_create(totals.values(), batch_size=BULK)
