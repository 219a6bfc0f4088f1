"""Writes of the daily rollups: whole days from the raw rows, or changed tickets' shares.

``rebuild_days`` deletes and recomputes every rollup of a run of days in one transaction,
so it is idempotent and safe to run late or twice; ``./manage.py reports_rebuild``
recomputes any range. It also records what each ticket adds to those days (its share,
``TicketShare``). Background refreshes (``refresh_dirty``) move the rollups by the
difference between a changed ticket's new share and its recorded one, so their cost
follows the number of tickets changed, not the size of the days they touch.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
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
    RollupsBeforeShares,
    TicketShare,
    TimingMetric,
    TimingRollup,
    VolumeRollup,
)
from sla.models import ClockStatus, Escalation, SlaClock
from tickets.choices import EventKind
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

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
    insert the same keys; the second would fail on the unique constraints. Two refreshes
    applying the same ticket's change would count it twice.
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


# --- what one ticket adds to the rollups
#
# A ticket's share is a list of entries ``[part, day ordinal, *key, *values]``. Every
# rollup row (except the worst breaches, a top list, and deflections, not a ticket's) is
# the sum of the entries with its day and key over all tickets, so a changed ticket moves
# the rollups by its new entries minus its old ones. Timing entries carry one duration:
# ``[1, seconds, bucket index]``; breach entries (``b``) only name the (day, promise) top
# list the ticket is in, to know which lists to recompute.


class Part:
    def __init__(self, model: type[Any], keys: tuple[str, ...], values: tuple[str, ...]):
        self.model = model
        self.keys = keys
        self.values = values
        # Rows whose whole counts are back to zero are deleted, as a rebuild never writes them.
        self.counts = tuple(
            name
            for name in values
            if model._meta.get_field(name).get_internal_type() != "FloatField"
        )


PARTS: dict[str, Part] = {
    "v": Part(VolumeRollup, ("hour", "channel", "category"), ("created",)),
    "t": Part(TimingRollup, ("metric", "channel", "category"), ("count", "total_seconds")),
    "a": Part(
        AgentRollup,
        ("agent_id",),
        ("replies", "notes", "assigned", "resolved", "resolution_seconds"),
    ),
    "c": Part(ComplianceRollup, ("target_id", "channel"), ("met", "met_late", "breached")),
    "s": Part(CsatRollup, ("channel", "category", "agent_id", "score"), ("count",)),
    "e": Part(EventRollup, ("kind", "channel", "category"), ("count",)),
    "x": Part(EscalationRollup, ("channel", "outcome"), ("count",)),
}
BREACH = "b"

Key = tuple[Any, ...]  # (part, day ordinal, *key)


def _key_length(part: str) -> int:
    return 2 if part == BREACH else 2 + len(PARTS[part].keys)


class Collected:
    """Entries per ticket, and the breached clocks seen (for the worst-breaches lists)."""

    def __init__(self) -> None:
        self.shares: dict[int, dict[Key, list[Any]]] = defaultdict(dict)
        self.breaches: list[tuple[int, str, float, int]] = []

    def add(self, ticket_id: int, key: Key, values: list[Any]) -> None:
        share = self.shares[ticket_id]
        held = share.get(key)
        if held is None or key[0] == "t":  # one first reply and one resolution per ticket
            share[key] = values
        else:
            for index, value in enumerate(values):
                held[index] += value

    def entries(self, ticket_id: int) -> list[list[Any]]:
        share = self.shares.get(ticket_id, {})
        return [[*key, *values] for key, values in share.items()]


def _collect(
    zone: zoneinfo.ZoneInfo, *, ranges: Ranges | None = None, ticket_ids: list[int] | None = None
) -> Collected:
    """Read the raw rows on the days of ``ranges``, or of the tickets ``ticket_ids``.

    With ranges, only what falls on those days is collected (a ticket's entries on other
    days are left out); with ticket ids, everything those tickets add, on any day.
    """
    got = Collected()

    def scope(moment: str, ticket: str = "ticket_id") -> Q:
        if ranges is not None:
            return _within(moment, ranges)
        return Q(**{f"{ticket}__in": ticket_ids or []})

    def day_of(moment: dt.datetime) -> int:
        return local_day(moment, zone).toordinal()

    # Tickets opened, first replies, resolutions (with the agent who resolved).
    for pk, created, channel, category in (
        Ticket.objects.filter(scope("created_at", "pk"))
        .values_list("pk", "created_at", "channel", "category")
        .iterator(chunk_size=BULK)
    ):
        local = created.astimezone(zone)
        got.add(pk, ("v", local.date().toordinal(), local.hour, channel, category), [1])
    for pk, created, replied, channel, category in (
        Ticket.objects.filter(scope("first_replied_at", "pk"), first_replied_at__isnull=False)
        .values_list("pk", "created_at", "first_replied_at", "channel", "category")
        .iterator(chunk_size=BULK)
    ):
        assert replied is not None  # filtered on it
        seconds = (replied - created).total_seconds()
        got.add(
            pk,
            ("t", day_of(replied), TimingMetric.FIRST_RESPONSE.value, channel, category),
            [1, seconds, histogram.bucket_of(seconds)],
        )
    for pk, created, resolved, channel, category, assignee_id in (
        Ticket.objects.filter(scope("resolved_at", "pk"), resolved_at__isnull=False)
        .values_list("pk", "created_at", "resolved_at", "channel", "category", "assignee_id")
        .iterator(chunk_size=BULK)
    ):
        assert resolved is not None  # filtered on it
        seconds = (resolved - created).total_seconds()
        day = day_of(resolved)
        got.add(
            pk,
            ("t", day, TimingMetric.RESOLUTION.value, channel, category),
            [1, seconds, histogram.bucket_of(seconds)],
        )
        if assignee_id is not None:
            got.add(pk, ("a", day, assignee_id), [0, 0, 0, 1, seconds])

    # Agents' replies and notes (sellers answering disputes write replies too; only support
    # staff are agents), and assignments.
    work = (
        TicketEvent.objects.filter(
            scope("created_at"),
            kind__in=[EventKind.MESSAGE_OUT, EventKind.NOTE_ADDED],
            actor__role__in=STAFF_ROLES,
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("ticket_id", "day", "kind", "actor_id")
    )
    for ticket_id, day, kind, actor_id in work.iterator(chunk_size=BULK):
        reply = kind == EventKind.MESSAGE_OUT
        got.add(
            ticket_id, ("a", day.toordinal(), actor_id), [int(reply), int(not reply), 0, 0, 0.0]
        )
    assignments = TicketEvent.objects.filter(
        scope("created_at"), kind=EventKind.ASSIGNED
    ).values_list("ticket_id", "created_at", "data")
    for ticket_id, created, data in assignments.iterator(chunk_size=BULK):
        new = data.get("new") if isinstance(data, dict) else None
        if isinstance(new, int):
            got.add(ticket_id, ("a", day_of(created), new), [0, 0, 1, 0, 0.0])

    _collect_clocks(got, zone, scope)

    # Ratings: a customer may change one, and only a ticket's latest counts.
    ratings = TicketEvent.objects.filter(scope("created_at"), kind=EventKind.RATED)
    if ranges is not None:
        later = TicketEvent.objects.filter(
            ticket_id=OuterRef("ticket_id"), kind=EventKind.RATED, id__gt=OuterRef("id")
        )
        ratings = ratings.exclude(Exists(later))
    latest: dict[int, tuple[int, dt.datetime, Any, str, str, int | None]] = {}
    for pk, ticket_id, created, data, channel, category, assignee_id in ratings.values_list(
        "pk",
        "ticket_id",
        "created_at",
        "data",
        "ticket__channel",
        "ticket__category",
        "ticket__assignee_id",
    ).iterator(chunk_size=BULK):
        if ticket_id not in latest or pk > latest[ticket_id][0]:
            latest[ticket_id] = (pk, created, data, channel, category, assignee_id)
    for ticket_id, (_, created, data, channel, category, agent_id) in latest.items():
        score = _score(data)
        if score is None:
            continue
        channel = str(data.get("channel") or channel)
        got.add(ticket_id, ("s", day_of(created), channel, category, agent_id, score), [1])

    counted = (
        TicketEvent.objects.filter(scope("created_at"), kind__in=COUNTED_EVENT_KINDS)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("ticket_id", "day", "kind", "ticket__channel", "ticket__category")
    )
    for ticket_id, day, kind, channel, category in counted.iterator(chunk_size=BULK):
        got.add(ticket_id, ("e", day.toordinal(), kind, channel, category), [1])

    escalations = Escalation.objects.filter(scope("created_at")).values_list(
        "ticket_id", "created_at", "channel", "contacted_at", "contact_due_at"
    )
    for ticket_id, created, channel, contacted, due in escalations.iterator(chunk_size=BULK):
        if contacted is None:
            outcome = EscalationOutcome.OPEN
        elif contacted <= due:
            outcome = EscalationOutcome.CONTACTED_IN_TIME
        else:
            outcome = EscalationOutcome.CONTACTED_LATE
        got.add(ticket_id, ("x", day_of(created), channel, outcome.value), [1])
    return got


_LIVE = [ClockStatus.RUNNING, ClockStatus.PAUSED]


def _clock_rows(
    clocks: Any, zone: zoneinfo.ZoneInfo
) -> Iterator[tuple[int, int, str, str, str, float]]:
    """(ticket, day ordinal, promise, channel, outcome, seconds over the limit) per clock.

    A clock counts on the day it stopped; a clock still running past its breach limit
    counts as breached on the day it breached, by how far it has run past so far.
    """
    now = timezone.now()
    rows = clocks.exclude(status=ClockStatus.STOPPED, outcome="").values_list(
        "ticket_id",
        "target_id",
        "ticket__channel",
        "status",
        "outcome",
        "stopped_at",
        "breached_at",
        "breach_at",
        "over_breach_seconds",
    )
    for (
        ticket_id,
        target_id,
        channel,
        status,
        outcome,
        stopped,
        breached,
        breach_at,
        over,
    ) in rows.iterator(chunk_size=BULK):
        if status == ClockStatus.STOPPED:
            assert stopped is not None  # a stopped clock records when
            day = local_day(stopped, zone)
        else:
            assert breached is not None  # filtered on it
            day, outcome = local_day(breached, zone), "breached"
            over = (now - breach_at).total_seconds() if breach_at else over
        yield ticket_id, day.toordinal(), target_id, channel, outcome, over or 0.0


def _collect_clocks(got: Collected, zone: zoneinfo.ZoneInfo, scope: Callable[..., Q]) -> None:
    clocks = SlaClock.objects.filter(
        (Q(status=ClockStatus.STOPPED) & scope("stopped_at"))
        | (Q(status__in=_LIVE, breached_at__isnull=False) & scope("breached_at"))
    )
    for ticket_id, day, target_id, channel, outcome, over in _clock_rows(clocks, zone):
        met, late = outcome == "met", outcome == "met_late"
        got.add(
            ticket_id, ("c", day, target_id, channel), [int(met), int(late), int(not (met or late))]
        )
        if not (met or late):
            got.add(ticket_id, (BREACH, day, target_id), [])
            got.breaches.append((day, target_id, over, ticket_id))


def _score(data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    try:
        score = int(data.get("score"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return score if 1 <= score <= 5 else None


# --- sums of entries, and writing them


Sums = dict[Key, list[Any]]


def _sum_into(sums: Sums, entries: Iterable[list[Any]], sign: int) -> None:
    """Add (sign 1) or take away (sign -1) entries; timing sums keep a bucket dict."""
    for entry in entries:
        part = entry[0]
        if part == BREACH:
            continue
        cut = _key_length(part)
        key, values = tuple(entry[:cut]), entry[cut:]
        held = sums.get(key)
        if part == "t":
            count, seconds, bucket = values
            if held is None:
                held = sums[key] = [0, 0.0, {}]
            held[0] += sign * count
            held[1] += sign * seconds
            held[2][bucket] = held[2].get(bucket, 0) + sign * count
        elif held is None:
            sums[key] = [sign * value for value in values]
        else:
            for index, value in enumerate(values):
                held[index] += sign * value


def _is_nothing(key: Key, values: list[Any]) -> bool:
    if key[0] == "t":
        return values[0] == 0 and abs(values[1]) < 1e-6 and not any(values[2].values())
    return all(abs(value) < 1e-6 for value in values)


def _row(key: Key, values: list[Any]) -> Any:
    """A new rollup row from summed entries."""
    part = PARTS[key[0]]
    fields = dict(zip(part.keys, key[2:], strict=True))
    fields["day"] = dt.date.fromordinal(key[1])
    if key[0] == "t":
        buckets = histogram.empty()
        for bucket, count in values[2].items():
            buckets[bucket] += count
        fields.update(count=values[0], total_seconds=values[1], buckets=buckets)
    else:
        fields.update(zip(part.values, values, strict=True))
    return part.model(**fields)


def _insert_sums(sums: Sums) -> None:
    """Write rollup rows and day totals for sums over whole days (a rebuild)."""
    by_part: dict[str, list[Any]] = defaultdict(list)
    for key, values in sums.items():
        if not _is_nothing(key, values):
            by_part[key[0]].append(_row(key, values))
    for part, rows in by_part.items():
        PARTS[part].model.objects.bulk_create(rows, batch_size=BULK)


def _apply(sums: Sums) -> int:
    """Add changes (new entries minus old) to the rollup rows and day totals.

    Rows are read by key, a few hundred keys a query, updated, created or, when their
    counts are back to zero, deleted: statements grow with the keys changed, not the days.
    Returns the number of rows written.
    """
    changed = {key: values for key, values in sums.items() if not _is_nothing(key, values)}
    by_part: dict[str, list[Key]] = defaultdict(list)
    for key in changed:
        by_part[key[0]].append(key)
    written = 0
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for part_name, keys in by_part.items():
        part = PARTS[part_name]
        model = part.model
        existing: dict[Key, Any] = {}
        for start in range(0, len(keys), 200):
            condition = Q()
            for key in keys[start : start + 200]:
                match: dict[str, Any] = {"day": dt.date.fromordinal(key[1])}
                for name, value in zip(part.keys, key[2:], strict=True):
                    match[name if value is not None else f"{name}__isnull"] = (
                        value if value is not None else True
                    )
                condition |= Q(**match)
            for row in model.objects.filter(condition):
                existing[
                    (part_name, row.day.toordinal(), *(getattr(row, name) for name in part.keys))
                ] = row
        updates, creates, deletes = [], [], []
        for key in keys:
            values = changed[key]
            if part_name == "v":
                totals[key[1]][0] += values[0]
            elif part_name == "t" and key[2] == TimingMetric.RESOLUTION:
                totals[key[1]][1] += values[0]
            row = existing.get(key)
            if row is None:
                row = _row(key, values)
                if _below_zero(row, part):
                    continue
                creates.append(row)
                continue
            if part_name == "t":
                row.count += values[0]
                row.total_seconds += values[1]
                for bucket, count in values[2].items():
                    row.buckets[bucket] += count
            else:
                for name, value in zip(part.values, values, strict=True):
                    setattr(row, name, getattr(row, name) + value)
            _below_zero(row, part)
            if any(getattr(row, name) for name in part.counts):
                updates.append(row)
            else:
                deletes.append(row.pk)
        fields = [*part.values, "buckets"] if part_name == "t" else list(part.values)
        model.objects.bulk_update(updates, fields, batch_size=BULK)
        model.objects.bulk_create(creates, batch_size=BULK)
        model.objects.filter(pk__in=deletes).delete()
        written += len(updates) + len(creates) + len(deletes)
    _apply_totals(totals)
    return written


def _below_zero(row: Any, part: Part) -> bool:
    """Set counts that would go below zero to zero, and say so.

    A count gets there only when the rollups and the recorded shares disagree (rows changed
    behind the markers' back); a rebuild of the day puts it right. The refresh goes on
    rather than failing on the database's check, again at every retry, and holding up
    every other change.
    """
    wrong = [name for name in part.counts if getattr(row, name) < 0]
    if part.model is TimingRollup:
        wrong += ["buckets"] if any(count < 0 for count in row.buckets) else []
        row.buckets = [max(0, count) for count in row.buckets]
    if not wrong:
        return False
    for name in wrong:
        if name != "buckets":
            setattr(row, name, 0)
    logger.warning(
        "Report rollup %s below zero on %s (%s): rebuild that day with reports_rebuild",
        part.model.__name__,
        row.day,
        ", ".join(wrong),
    )
    return True


def _apply_totals(totals: dict[int, list[int]]) -> None:
    totals = {day: change for day, change in totals.items() if change != [0, 0]}
    if not totals:
        return
    days = [dt.date.fromordinal(day) for day in totals]
    existing = {row.day: row for row in DayTotals.objects.filter(day__in=days)}
    updates: list[DayTotals] = []
    creates: list[DayTotals] = []
    deletes: list[DayTotals] = []
    for ordinal, (opened, resolved) in totals.items():
        day = dt.date.fromordinal(ordinal)
        row = existing.get(day)
        if row is None:
            if opened >= 0 and resolved >= 0:
                creates.append(DayTotals(day=day, opened=opened, resolved=resolved))
            continue
        row.opened = max(0, row.opened + opened)
        row.resolved = max(0, row.resolved + resolved)
        (updates if row.opened or row.resolved else deletes).append(row)
    DayTotals.objects.bulk_update(updates, ["opened", "resolved"], batch_size=BULK)
    DayTotals.objects.bulk_create(creates, batch_size=BULK)
    DayTotals.objects.filter(day__in=[row.day for row in deletes]).delete()


def _write_worst(breaches: Iterable[tuple[int, str, float, int]]) -> None:
    worst: dict[tuple[int, str], list[tuple[float, int]]] = defaultdict(list)
    for day, target_id, over, ticket_id in breaches:
        heap = worst[(day, target_id)]
        item = (over, ticket_id)
        if len(heap) < BreachRollup.WORST_PER_DAY:
            heapq.heappush(heap, item)
        else:
            heapq.heappushpop(heap, item)
    BreachRollup.objects.bulk_create(
        (
            BreachRollup(
                day=dt.date.fromordinal(day),
                target_id=target_id,
                ticket_id=ticket_id,
                over_seconds=over,
            )
            for (day, target_id), heap in worst.items()
            for over, ticket_id in heap
        ),
        batch_size=BULK,
    )


def _recompute_worst(groups: set[tuple[int, str]], zone: zoneinfo.ZoneInfo) -> None:
    """Recompute the worst-breaches lists of some (day, promise) pairs from the clocks.

    A top list cannot lose a member by subtraction (the next worst is not kept), so the
    lists a changed ticket was or is in are read again: one day of one promise each, on
    the clocks' (promise, stop time) index.
    """
    if not groups:
        return
    which = Q()
    clocks = Q()
    for day, target_id in groups:
        low = day_start(dt.date.fromordinal(day), zone)
        high = low + dt.timedelta(days=1)
        which |= Q(day=dt.date.fromordinal(day), target_id=target_id)
        clocks |= Q(target_id=target_id) & (
            Q(status=ClockStatus.STOPPED, stopped_at__gte=low, stopped_at__lt=high)
            | Q(status__in=_LIVE, breached_at__gte=low, breached_at__lt=high)
        )
    BreachRollup.objects.filter(which).delete()
    breached = SlaClock.objects.filter(clocks).exclude(
        status=ClockStatus.STOPPED, outcome__in=["met", "met_late"]
    )
    _write_worst(
        (day, target_id, over, ticket_id)
        for ticket_id, day, target_id, _, _, over in _clock_rows(breached, zone)
        if (day, target_id) in groups
    )


# --- shares


def _load_shares(ticket_ids: Iterable[int]) -> dict[int, list[list[Any]]]:
    ids = list(ticket_ids)
    shares: dict[int, list[list[Any]]] = {}
    for start in range(0, len(ids), BULK):
        for ticket_id, entries in TicketShare.objects.filter(
            ticket_id__in=ids[start : start + BULK]
        ).values_list("ticket_id", "entries"):
            shares[ticket_id] = json.loads(entries)
    return shares


def _save_shares(shares: dict[int, list[list[Any]]]) -> None:
    kept = [
        TicketShare(ticket_id=ticket_id, entries=json.dumps(entries, separators=(",", ":")))
        for ticket_id, entries in shares.items()
        if entries
    ]
    TicketShare.objects.bulk_create(
        kept,
        batch_size=BULK,
        update_conflicts=True,
        unique_fields=["ticket_id"],
        update_fields=["entries"],
    )
    gone = [ticket_id for ticket_id, entries in shares.items() if not entries]
    for start in range(0, len(gone), BULK):
        TicketShare.objects.filter(ticket_id__in=gone[start : start + BULK]).delete()


# --- rebuilds


def rebuild_days(*, first: dt.date, last: dt.date) -> None:
    """Recompute every rollup for the days ``first`` to ``last`` (team time zone)."""
    rebuild_runs([(first, last)])


@transaction.atomic
def rebuild_runs(runs: list[tuple[dt.date, dt.date]], *, also: Iterable[int] = ()) -> None:
    """Recompute every rollup for several runs of days at once (each source read once).

    The tickets' shares are rewritten on those days from the same reading, so that each
    rebuilt day is again the sum of its tickets' entries. Besides the tickets found on
    those days, the entries of dirty tickets (``DirtyTicket``, and ``also``: a ticket may
    have left those days since its share was recorded) are dropped from them.
    """
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
    got = _collect(zone, ranges=ranges)
    sums: Sums = {}
    for share in got.shares.values():
        _sum_into(sums, ([*key, *values] for key, values in share.items()), 1)
    _insert_sums(sums)
    _write_worst(got.breaches)
    _deflections(ranges, zone)
    _day_totals(days)

    ordinals = {
        first.toordinal() + offset
        for first, last in runs
        for offset in range((last - first).days + 1)
    }
    touched = (
        set(got.shares) | set(also) | set(DirtyTicket.objects.values_list("ticket_id", flat=True))
    )
    old = _load_shares(touched)
    _save_shares(
        {
            ticket_id: [entry for entry in old.get(ticket_id, []) if entry[1] not in ordinals]
            + got.entries(ticket_id)
            for ticket_id in touched
            if ticket_id in old or ticket_id in got.shares
        }
    )


def rebuild_range(
    *,
    first: dt.date,
    last: dt.date,
    chunk_days: int = 31,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild ``first``..``last`` a chunk at a time; returns the number of days rebuilt.

    A rebuild of every day with data also records every ticket's share, which the refresh
    needs to move rollups by differences (``RollupsBeforeShares``).
    """
    done = 0
    for start, end in chunks(first, last, chunk_days):
        rebuild_days(first=start, last=end)
        count = (end - start).days + 1
        done += count
        if progress is not None:
            progress(count)
    span = data_span()
    if span is None or (first <= span[0] and last >= span[1]):
        RollupsBeforeShares.objects.all().delete()
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
    """Mark in the changing transaction. An existing marker is updated, not skipped: the
    update locks it, so a refresh deleting it meanwhile waits for this change to commit
    and then reads it (a skipped insert takes no lock, and a refresh could read the
    ticket before the change and delete the marker that stood for it)."""
    now = timezone.now()
    DirtyTicket.objects.bulk_create(
        [DirtyTicket(ticket_id=pk, marked_at=now) for pk in sorted(set(ticket_ids))],
        update_conflicts=True,
        unique_fields=["ticket_id"],
        update_fields=["marked_at"],
    )


def mark_days_dirty(days: Iterable[dt.date]) -> None:
    now = timezone.now()
    DirtyDay.objects.bulk_create(
        [DirtyDay(day=day, marked_at=now) for day in sorted(set(days))],
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=["marked_at"],
    )


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
    """Bring the rollups up to date with the tickets and days marked dirty.

    Each changed ticket moves the rollups by its new entries minus its recorded ones, so
    the cost follows the tickets changed, not the size of their days; deflections (not a
    ticket's) recompute their day. Markers are taken and deleted in the same transaction
    as the rollups and shares are written, so an interrupted refresh leaves everything as
    it was, and a marker written meanwhile (another change) survives for the next refresh.
    Returns the number of tickets and days refreshed.
    """
    zone = team_zone()
    refreshed = 0
    while True:
        with transaction.atomic():
            _serialise_writers()
            ticket_ids = list(DirtyTicket.objects.values_list("ticket_id", flat=True)[:batch])
            day_markers = list(DirtyDay.objects.values_list("day", flat=True)[:batch])
            if not ticket_ids and not day_markers:
                return refreshed
            DirtyTicket.objects.filter(ticket_id__in=ticket_ids).delete()
            DirtyDay.objects.filter(day__in=day_markers).delete()
            if RollupsBeforeShares.objects.exists():
                # Shares of older rollups are unknown: recompute the tickets' days whole.
                days = ticket_days(ticket_ids, zone) | set(day_markers)
                rebuild_runs(contiguous_runs(days), also=ticket_ids)
            else:
                _refresh_tickets(ticket_ids, zone)
                _refresh_deflections(day_markers, zone)
            refreshed += len(ticket_ids) + len(day_markers)


def _refresh_tickets(ticket_ids: list[int], zone: zoneinfo.ZoneInfo) -> None:
    """Move the rollups by what these tickets add now minus what they added before."""
    if not ticket_ids:
        return
    old = _load_shares(ticket_ids)
    got = _collect(zone, ticket_ids=ticket_ids)
    new = {ticket_id: got.entries(ticket_id) for ticket_id in ticket_ids}
    sums: Sums = {}
    for ticket_id in ticket_ids:
        _sum_into(sums, new[ticket_id], 1)
        _sum_into(sums, old.get(ticket_id, []), -1)
    _apply(sums)
    _recompute_worst(
        {
            (entry[1], entry[2])
            for entries in (*old.values(), *new.values())
            for entry in entries
            if entry[0] == BREACH
        },
        zone,
    )
    _save_shares(
        {ticket_id: entries for ticket_id, entries in new.items() if entries or ticket_id in old}
    )


def _refresh_deflections(days: list[dt.date], zone: zoneinfo.ZoneInfo) -> None:
    """Deflections are not a ticket's: recount the marked days whole (few rows a day)."""
    if not days:
        return
    DeflectionRollup.objects.filter(day__in=days).delete()
    _deflections(
        [(day_start(day, zone), day_start(day + dt.timedelta(days=1), zone)) for day in days], zone
    )


# --- rollups that are not the sum of tickets' shares


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
