"""Reads for the report pages, from the daily rollups only (plus names and a few comments).

Each report is a list of ``Section``s: a heading, a chart description for Chart.js and the
same figures as a table, which is what screen readers and the CSV-minded read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.urls import reverse

from accounts.models import STAFF_ROLES, User
from policy.loader import get_policy
from reports import histogram
from reports.models import (
    AgentRollup,
    BreachRollup,
    ComplianceRollup,
    CsatRollup,
    DayTotals,
    DeflectionRollup,
    EscalationOutcome,
    EscalationRollup,
    EventRollup,
    TimingMetric,
    TimingRollup,
    VolumeRollup,
)
from reports.ranges import DateRange
from tickets.choices import Channel, EventKind
from tickets.models import TICKET_REFERENCE_PREFIX, TicketEvent

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass
class Cell:
    """A table cell that links somewhere (a ticket)."""

    text: str
    href: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: dict[str, Any] | None = None
    summary: str = ""
    id: str = ""


@dataclass
class Report:
    slug: str
    title: str
    description: str
    sections: list[Section] = field(default_factory=list)


# --- formatting


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def percent_text(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def channel_name(key: str) -> str:
    try:
        return str(Channel(key).label)
    except ValueError:
        return key


def category_name(key: str) -> str:
    if not key:
        return "Not categorised yet"
    names = {category.key: category.name for category in get_policy().categories}
    return names.get(key, key)


def agent_names(ids: set[int]) -> dict[int, str]:
    return {user.pk: str(user) for user in User.objects.filter(pk__in=ids)}


def _staff_ids() -> Any:
    """Support staff, as a subquery: a seller who answers a dispute in the portal writes
    replies too, but is never one of the team's agents in a report."""
    return User.objects.filter(role__in=STAFF_ROLES).values("pk")


def period_of(day: dt.date, span: DateRange) -> dt.date:
    """Trend periods: days up to two months, then weeks (from Monday), then months."""
    if span.days <= 62:
        return day
    if span.days <= 400:
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def period_label(start: dt.date, span: DateRange) -> str:
    if span.days <= 62:
        return start.isoformat()
    if span.days <= 400:
        return f"Week of {start.isoformat()}"
    return start.strftime("%B %Y")


def periods(span: DateRange) -> list[dt.date]:
    return sorted({period_of(day, span) for day in span.each_day()})


def _in(span: DateRange) -> dict[str, dt.date]:
    return {"day__gte": span.first, "day__lte": span.last}


def _chart(kind: str, labels: list[str], datasets: list[tuple[str, list[Any]]], y: str) -> dict:
    return {
        "type": kind,
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in datasets],
        "y_label": y,
    }


# --- Volume


def volume_report(span: DateRange) -> Report:
    report = Report("volume", "Volume and backlog", "Tickets opened, by when and where.")
    rows = VolumeRollup.objects.filter(**_in(span))
    by_day: dict[dt.date, int] = {}
    resolved_by_day: dict[dt.date, int] = {}
    for day, opened, resolved in DayTotals.objects.filter(**_in(span)).values_list(
        "day", "opened", "resolved"
    ):
        by_day[day], resolved_by_day[day] = opened, resolved
    # Backlog: everything opened and not resolved before the range, then day by day.
    before = DayTotals.objects.filter(day__lt=span.first).aggregate(
        opened=Sum("opened"), resolved=Sum("resolved")
    )
    opened_before, resolved_before = before["opened"] or 0, before["resolved"] or 0
    backlog = opened_before - resolved_before
    trend: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day in span.each_day():
        backlog += by_day.get(day, 0) - resolved_by_day.get(day, 0)
        bucket = trend[period_of(day, span)]
        bucket[0] += by_day.get(day, 0)
        bucket[1] += resolved_by_day.get(day, 0)
        bucket[2] = backlog
    starts = periods(span)
    labels = [period_label(start, span) for start in starts]
    total = sum(by_day.values())
    report.sections.append(
        Section(
            id="trend",
            title="Opened, resolved and backlog over time",
            columns=["Period", "Opened", "Resolved", "Backlog at the end"],
            rows=[[label, *trend[start]] for label, start in zip(labels, starts, strict=True)],
            chart=_chart(
                "line",
                labels,
                [
                    ("Opened", [trend[s][0] for s in starts]),
                    ("Resolved", [trend[s][1] for s in starts]),
                    ("Backlog", [trend[s][2] for s in starts]),
                ],
                "Tickets",
            ),
            summary=f"{total:,} tickets opened; backlog {backlog:,} at the end of the range.",
        )
    )
    for dimension, title, name in (
        ("channel", "By channel", channel_name),
        ("category", "By category", category_name),
    ):
        counts = rows.values_list(dimension).annotate(n=Sum("created")).order_by("-n", dimension)
        table = [[name(key), n, percent_text(n, total)] for key, n in counts]
        report.sections.append(
            Section(
                id=dimension,
                title=title,
                columns=[dimension.title(), "Tickets", "Share"],
                rows=table,
                chart=_chart(
                    "bar", [r[0] for r in table], [("Tickets", [r[1] for r in table])], "Tickets"
                ),
            )
        )
    by_hour = dict(rows.values_list("hour").annotate(n=Sum("created")).order_by())
    hours = [f"{hour:02d}:00" for hour in range(24)]
    report.sections.append(
        Section(
            id="hour",
            title="By hour of day (support team's time)",
            columns=["Hour", "Tickets"],
            rows=[[label, by_hour.get(hour, 0)] for hour, label in enumerate(hours)],
            chart=_chart(
                "bar", hours, [("Tickets", [by_hour.get(h, 0) for h in range(24)])], "Tickets"
            ),
        )
    )
    by_weekday = [0] * 7
    for day, n in by_day.items():
        by_weekday[day.weekday()] += n
    report.sections.append(
        Section(
            id="weekday",
            title="By weekday",
            columns=["Weekday", "Tickets"],
            rows=[[name, n] for name, n in zip(WEEKDAYS, by_weekday, strict=True)],
            chart=_chart("bar", WEEKDAYS, [("Tickets", by_weekday)], "Tickets"),
        )
    )
    return report


def volume_csv(span: DateRange) -> tuple[list[str], Iterator[list[Any]]]:
    rows = (
        VolumeRollup.objects.filter(**_in(span))
        .order_by("day", "hour", "channel", "category")
        .values_list("day", "hour", "channel", "category", "created")
    )
    return ["day", "hour", "channel", "category", "tickets_opened"], (
        [day.isoformat(), hour, channel, category, n]
        for day, hour, channel, category, n in rows.iterator(chunk_size=2000)
    )


# --- Response and resolution times


def _percentiles(buckets: list[int]) -> tuple[float | None, float | None]:
    return histogram.percentile(buckets, 50), histogram.percentile(buckets, 90)


def times_report(span: DateRange) -> Report:
    report = Report(
        "times",
        "Response and resolution times",
        "First response time (ticket opened to first reply) and resolution time (opened to "
        "resolved), in calendar time, median and 90th percentile, for replies and "
        "resolutions in the range.",
    )
    rows = list(
        TimingRollup.objects.filter(**_in(span)).values_list(
            "metric", "channel", "category", "buckets"
        )
    )
    # Adding thousands of day histograms bucket by bucket is the page's main cost: numpy
    # sums each group's rows in one call. (Imported here: a process that shows no report
    # does without its start-up cost.)
    import numpy as np

    matrix = np.array([row[3] for row in rows], dtype=np.int64).reshape(
        len(rows), len(histogram.BOUNDS)
    )
    sums: dict[tuple[str, str, str], list[int]] = {}
    for dimension, position in (("channel", 1), ("category", 2)):
        groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for index, row in enumerate(rows):
            groups[(row[0], dimension, row[position])].append(index)
        for group, indexes in groups.items():
            sums[group] = matrix[indexes].sum(axis=0).tolist()
    for metric in TimingMetric:
        for dimension, name in (("channel", channel_name), ("category", category_name)):
            keys = sorted(k for m, d, k in sums if m == metric and d == dimension)
            table, medians, p90s = [], [], []
            for key in keys:
                buckets = sums[(metric.value, dimension, key)]
                median, p90 = _percentiles(buckets)
                table.append([name(key), sum(buckets), duration_text(median), duration_text(p90)])
                medians.append(round((median or 0) / 3600, 2))
                p90s.append(round((p90 or 0) / 3600, 2))
            report.sections.append(
                Section(
                    id=f"{metric}-{dimension}",
                    title=f"{metric.label} by {dimension}",
                    columns=[dimension.title(), "Tickets", "Median", "90th percentile"],
                    rows=table,
                    chart=_chart(
                        "bar",
                        [str(r[0]) for r in table],
                        [("Median (hours)", medians), ("90th percentile (hours)", p90s)],
                        "Hours",
                    ),
                )
            )
    return report


def times_csv(span: DateRange) -> tuple[list[str], Iterator[list[Any]]]:
    rows = (
        TimingRollup.objects.filter(**_in(span))
        .order_by("day", "metric", "channel", "category")
        .values_list("day", "metric", "channel", "category", "count", "buckets")
    )

    def lines() -> Iterator[list[Any]]:
        for day, metric, channel, category, count, buckets in rows.iterator(chunk_size=2000):
            median, p90 = _percentiles(buckets)
            yield [
                day.isoformat(),
                metric,
                channel,
                category,
                count,
                round(median or 0),
                round(p90 or 0),
            ]

    return [
        "day",
        "metric",
        "channel",
        "category",
        "tickets",
        "median_seconds",
        "p90_seconds",
    ], lines()


# --- Policy compliance


@dataclass(frozen=True)
class PromiseRecord:
    target_id: str
    title: str
    promise: str
    met: int
    met_late: int
    breached: int

    @property
    def total(self) -> int:
        return self.met + self.met_late + self.breached

    @property
    def kept(self) -> int:
        """Ended within the published limit (the upper end of "2–5 minutes")."""
        return self.met + self.met_late

    @property
    def kept_share(self) -> str:
        return percent_text(self.kept, self.total)


def promise_records(first: dt.date, last: dt.date) -> list[PromiseRecord]:
    """How each published promise was kept between two days (team time zone)."""
    totals = {
        target_id: (met, met_late, breached)
        for target_id, met, met_late, breached in ComplianceRollup.objects.filter(
            day__gte=first, day__lte=last
        )
        .values_list("target_id")
        .annotate(Sum("met"), Sum("met_late"), Sum("breached"))
        .order_by()
    }
    return [
        PromiseRecord(target.id, target.title, target.promise, *totals.get(target.id, (0, 0, 0)))
        for target in get_policy().response_targets
        if target.published
    ]


def compliance_report(span: DateRange) -> Report:
    report = Report(
        "compliance",
        "Policy compliance",
        "Each promise the Support Policy publishes, measured by its SLA clocks: a promise "
        "counts on the day its clock stopped (or breached, while it still runs).",
    )
    records = promise_records(span.first, span.last)
    report.sections.append(
        Section(
            id="promises",
            title="Promises kept",
            columns=[
                "Promise",
                "Measured",
                "Within target",
                "Within the limit (kept)",
                "Breached",
                "Share kept",
            ],
            rows=[[r.title, r.total, r.met, r.kept, r.breached, r.kept_share] for r in records],
            chart=_chart(
                "bar",
                [r.title for r in records],
                [
                    (
                        "Share kept (%)",
                        [round(100 * r.kept / r.total, 1) if r.total else None for r in records],
                    )
                ],
                "%",
            ),
        )
    )
    starts = periods(span)
    labels = [period_label(start, span) for start in starts]
    per_period: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
    for target_id, day, met, met_late, breached in (
        ComplianceRollup.objects.filter(**_in(span))
        .values_list("target_id", "day")
        .annotate(Sum("met"), Sum("met_late"), Sum("breached"))
        .order_by()
    ):
        cell = per_period[(target_id, period_of(day, span))]
        cell[0] += met + met_late
        cell[1] += met + met_late + breached

    def share(target_id: str, start: dt.date) -> float | None:
        kept, total = per_period.get((target_id, start), (0, 0))
        return round(100 * kept / total, 1) if total else None

    report.sections.append(
        Section(
            id="trend",
            title="Share kept over time",
            columns=["Period", *[r.title for r in records]],
            rows=[
                [label, *[percent_text(*per_period.get((r.target_id, s), (0, 0))) for r in records]]
                for label, s in zip(labels, starts, strict=True)
            ],
            chart=_chart(
                "line",
                labels,
                [(r.title, [share(r.target_id, s) for s in starts]) for r in records],
                "% kept",
            ),
        )
    )
    for record in records:
        worst = BreachRollup.objects.filter(target_id=record.target_id, **_in(span)).order_by(
            "-over_seconds", "ticket_id"
        )[: BreachRollup.WORST_PER_DAY]
        report.sections.append(
            Section(
                id=f"worst-{record.target_id}",
                title=f"Worst breaches: {record.title}",
                columns=["Ticket", "Day", "Past the limit by"],
                rows=[
                    [
                        Cell(
                            f"{TICKET_REFERENCE_PREFIX}{b.ticket_id}",
                            reverse("console:ticket", args=[b.ticket_id]),
                        ),
                        b.day.isoformat(),
                        duration_text(b.over_seconds),
                    ]
                    for b in worst
                ],
                summary="" if worst else "No breach in this range.",
            )
        )
    return report


def compliance_csv(span: DateRange) -> tuple[list[str], Iterator[list[Any]]]:
    rows = (
        ComplianceRollup.objects.filter(**_in(span))
        .order_by("day", "target_id", "channel")
        .values_list("day", "target_id", "channel", "met", "met_late", "breached")
    )
    return ["day", "promise", "channel", "met", "met_late", "breached"], (
        [day.isoformat(), *rest] for day, *rest in rows.iterator(chunk_size=2000)
    )


# --- Customer satisfaction


def _csat_table(
    counts: dict[Any, list[int]], name: Callable[[Any], str]
) -> tuple[list[list[Any]], list[str], list[float | None]]:
    table, labels, averages = [], [], []
    for key, (n, total) in sorted(counts.items(), key=lambda item: -item[1][0]):
        average = total / n if n else None
        table.append([name(key), n, f"{average:.2f}" if average else "–"])
        labels.append(name(key))
        averages.append(round(average, 2) if average else None)
    return table, labels, averages


def csat_report(span: DateRange) -> Report:
    scale = get_policy().feedback
    report = Report(
        "csat",
        "Customer satisfaction",
        "Ratings customers gave after an interaction (the latest rating of each ticket counts).",
    )
    grouped: dict[str, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    rows = CsatRollup.objects.filter(**_in(span)).values_list(
        "day", "channel", "category", "agent_id", "score", "count"
    )
    for day, channel, category, agent_id, score, n in rows.iterator(chunk_size=2000):
        for dimension, key in (
            ("channel", channel),
            ("category", category),
            ("agent", agent_id),
            ("period", period_of(day, span)),
            ("score", score),
        ):
            grouped[dimension][key][0] += n
            grouped[dimension][key][1] += n * score
    total = sum(n for n, _ in grouped["channel"].values())
    score_sum = sum(s for _, s in grouped["channel"].values())
    low, high = scale.scale_min, scale.scale_max
    names = agent_names({key for key in grouped["agent"] if key is not None})
    starts = periods(span)
    trend = [grouped["period"].get(s, [0, 0]) for s in starts]
    labels = [period_label(s, span) for s in starts]
    report.sections.append(
        Section(
            id="trend",
            title="Average rating over time",
            columns=["Period", "Ratings", "Average"],
            rows=[
                [label, n, f"{t / n:.2f}" if n else "–"]
                for label, (n, t) in zip(labels, trend, strict=True)
            ],
            chart=_chart(
                "line",
                labels,
                [("Average rating", [round(t / n, 2) if n else None for n, t in trend])],
                f"Rating ({low}–{high})",
            ),
            summary=(
                f"{total:,} ratings, average {score_sum / total:.2f} on {low}–{high}."
                if total
                else "No ratings in this range."
            ),
        )
    )
    distribution = [grouped["score"].get(score, [0, 0])[0] for score in range(low, high + 1)]
    report.sections.append(
        Section(
            id="scores",
            title="Ratings by score",
            columns=["Score", "Ratings", "Share"],
            rows=[
                [score, n, percent_text(n, total)]
                for score, n in zip(range(low, high + 1), distribution, strict=True)
            ],
            chart=_chart(
                "bar",
                [str(s) for s in range(low, high + 1)],
                [("Ratings", distribution)],
                "Ratings",
            ),
        )
    )
    for dimension, title, name in (
        ("channel", "By channel", channel_name),
        ("category", "By category", category_name),
        ("agent", "By agent", lambda key: names.get(key, "Unassigned")),
    ):
        table, chart_labels, averages = _csat_table(grouped[dimension], name)
        report.sections.append(
            Section(
                id=dimension,
                title=title,
                columns=[dimension.title(), "Ratings", "Average"],
                rows=table,
                chart=_chart("bar", chart_labels, [("Average rating", averages)], "Rating"),
            )
        )
    report.sections.append(
        Section(
            id="comments",
            title="Latest comments",
            columns=["Ticket", "Rated", "Score", "Comment"],
            rows=latest_comments(span),
        )
    )
    return report


def latest_comments(span: DateRange, limit: int = 30) -> list[list[Any]]:
    """The newest rating comments in the range (raw rows, but at most ``limit``)."""
    from reports.rollups import day_start, team_zone

    zone = team_zone()
    events = (
        TicketEvent.objects.filter(
            kind=EventKind.RATED,
            created_at__gte=day_start(span.first, zone),
            created_at__lt=day_start(span.last + dt.timedelta(days=1), zone),
        )
        .exclude(data__comment="")
        .filter(data__has_key="comment")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        [
            Cell(
                f"{TICKET_REFERENCE_PREFIX}{event.ticket_id}",
                reverse("console:ticket", args=[event.ticket_id]),
            ),
            event.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
            event.data.get("score", ""),
            str(event.data.get("comment", "")),
        ]
        for event in events
    ]


def csat_csv(span: DateRange) -> tuple[list[str], Iterator[list[Any]]]:
    rows = (
        CsatRollup.objects.filter(**_in(span))
        .order_by("day", "channel", "category", "agent_id", "score")
        .values_list("day", "channel", "category", "agent_id", "score", "count")
    )
    return ["day", "channel", "category", "agent_id", "score", "ratings"], (
        [day.isoformat(), *rest] for day, *rest in rows.iterator(chunk_size=2000)
    )


# --- Escalations, conduct and the Help Center


def escalations_report(span: DateRange) -> Report:
    report = Report(
        "escalations",
        "Escalations, conduct and Help Center",
        "Escalations to a supervisor and what became of them, code-of-conduct events, and "
        "questions the Help Center answered without a ticket.",
    )
    outcomes = dict(
        EscalationRollup.objects.filter(**_in(span))
        .values_list("outcome")
        .annotate(n=Sum("count"))
        .order_by()
    )
    total = sum(outcomes.values())
    table = [
        [
            outcome.label,
            outcomes.get(outcome.value, 0),
            percent_text(outcomes.get(outcome, 0), total),
        ]
        for outcome in EscalationOutcome
    ]
    report.sections.append(
        Section(
            id="escalations",
            title="Escalations by outcome",
            columns=["Outcome", "Escalations", "Share"],
            rows=table,
            chart=_chart(
                "doughnut", [r[0] for r in table], [("Escalations", [r[1] for r in table])], ""
            ),
            summary=f"{total:,} escalations requested in the range.",
        )
    )
    kinds = [EventKind.CONDUCT_VIOLATION, EventKind.TERMINATED, EventKind.ESCALATED]
    per_channel: dict[str, dict[str, int]] = defaultdict(dict)
    for kind, channel, n in (
        EventRollup.objects.filter(kind__in=kinds, **_in(span))
        .values_list("kind", "channel")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        per_channel[channel][kind] = n
    channels = sorted(per_channel)
    report.sections.append(
        Section(
            id="conduct",
            title="Conduct events and escalations by channel",
            columns=["Channel", "Conduct violations", "Sessions ended for conduct", "Escalations"],
            rows=[[channel_name(c), *[per_channel[c].get(k, 0) for k in kinds]] for c in channels],
            chart=_chart(
                "bar",
                [channel_name(c) for c in channels],
                [(str(k.label), [per_channel[c].get(k, 0) for c in channels]) for k in kinds],
                "Events",
            ),
        )
    )
    deflections = dict(
        DeflectionRollup.objects.filter(**_in(span))
        .values_list("source")
        .annotate(n=Sum("count"))
        .order_by()
    )
    deflected = sum(deflections.values())
    opened = VolumeRollup.objects.filter(**_in(span)).aggregate(n=Sum("created"))["n"] or 0
    from helpcenter.choices import DeflectionSource

    def source_name(key: str) -> str:
        try:
            return str(DeflectionSource(key).label)
        except ValueError:
            return key

    report.sections.append(
        Section(
            id="deflection",
            title="Help Center deflection",
            columns=["Where the answer was shown", "Questions answered"],
            rows=[[source_name(k), n] for k, n in sorted(deflections.items())],
            summary=(
                f"{deflected:,} questions answered by an article against {opened:,} tickets "
                f"opened: deflection rate {percent_text(deflected, deflected + opened)}."
            ),
        )
    )
    return report


def escalations_csv(span: DateRange) -> tuple[list[str], Iterator[list[Any]]]:
    rows = (
        EventRollup.objects.filter(**_in(span))
        .order_by("day", "kind", "channel", "category")
        .values_list("day", "kind", "channel", "category", "count")
    )
    return ["day", "event", "channel", "category", "count"], (
        [day.isoformat(), *rest] for day, *rest in rows.iterator(chunk_size=2000)
    )


# --- Agents


def agents_report(span: DateRange) -> Report:
    report = Report(
        "agents",
        "Agents: workload and performance",
        "Per agent: replies and notes written, tickets assigned and resolved, average "
        "resolution time and ratings.",
    )
    totals = {
        agent_id: values
        for agent_id, *values in AgentRollup.objects.filter(agent_id__in=_staff_ids(), **_in(span))
        .values_list("agent_id")
        .annotate(
            Sum("replies"),
            Sum("notes"),
            Sum("assigned"),
            Sum("resolved"),
            Sum("resolution_seconds"),
        )
        .order_by()
    }
    ratings = {
        agent_id: (n, weighted)
        for agent_id, n, weighted in CsatRollup.objects.filter(agent_id__isnull=False, **_in(span))
        .values_list("agent_id")
        .annotate(Sum("count"), Sum("score"))
        .order_by()
    }
    # Sum("score") above adds one score per rollup row, not per rating: weight it properly.
    weighted: dict[int, int] = defaultdict(int)
    for agent_id, score, n in CsatRollup.objects.filter(
        agent_id__isnull=False, **_in(span)
    ).values_list("agent_id", "score", "count"):
        if agent_id is not None:
            weighted[agent_id] += score * n
    names = agent_names(set(totals) | set(ratings))
    ordered = sorted(totals, key=lambda a: (-totals[a][0], names.get(a, "")))
    table = []
    for agent_id in ordered:
        replies, notes, assigned, resolved, seconds = totals[agent_id]
        rated = ratings.get(agent_id, (0, 0))[0]
        table.append(
            [
                names.get(agent_id, f"User {agent_id}"),
                replies,
                notes,
                assigned,
                resolved,
                duration_text(seconds / resolved if resolved else None),
                rated,
                f"{weighted[agent_id] / rated:.2f}" if rated else "–",
            ]
        )
    report.sections.append(
        Section(
            id="agents",
            title="Workload and performance per agent",
            columns=[
                "Agent",
                "Replies",
                "Notes",
                "Assigned",
                "Resolved",
                "Average resolution time",
                "Ratings",
                "Average rating",
            ],
            rows=table,
            chart=_chart(
                "bar",
                [r[0] for r in table[:25]],
                [("Replies", [r[1] for r in table[:25]]), ("Resolved", [r[4] for r in table[:25]])],
                "Count",
            ),
            summary=f"{len(table)} agents active in the range; the chart shows the 25 busiest.",
        )
    )
    return report


def agents_csv(span: DateRange) -> tuple[list[str], Iterator[list[Any]]]:
    rows = (
        AgentRollup.objects.filter(agent_id__in=_staff_ids(), **_in(span))
        .order_by("day", "agent_id")
        .values_list(
            "day", "agent_id", "replies", "notes", "assigned", "resolved", "resolution_seconds"
        )
    )
    names = agent_names(
        set(
            AgentRollup.objects.filter(agent_id__in=_staff_ids(), **_in(span))
            .values_list("agent_id", flat=True)
            .distinct()
        )
    )
    header = [
        "day",
        "agent_id",
        "agent",
        "replies",
        "notes",
        "assigned",
        "resolved",
        "resolution_seconds",
    ]
    return header, (
        [day.isoformat(), agent_id, names.get(agent_id, ""), *rest]
        for day, agent_id, *rest in rows.iterator(chunk_size=2000)
    )


@dataclass(frozen=True)
class ReportKind:
    slug: str
    title: str
    build: Callable[[DateRange], Report]
    csv: Callable[[DateRange], tuple[list[str], Iterator[list[Any]]]]


REPORTS = {
    kind.slug: kind
    for kind in (
        ReportKind("volume", "Volume and backlog", volume_report, volume_csv),
        ReportKind("times", "Response and resolution times", times_report, times_csv),
        ReportKind("compliance", "Policy compliance", compliance_report, compliance_csv),
        ReportKind("csat", "Customer satisfaction", csat_report, csat_csv),
        ReportKind(
            "escalations",
            "Escalations, conduct and Help Center",
            escalations_report,
            escalations_csv,
        ),
        ReportKind("agents", "Agents", agents_report, agents_csv),
    )
}
