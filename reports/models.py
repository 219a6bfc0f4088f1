"""Daily rollups the reports read, never the raw tickets and events.

Every row is keyed by a day in the support team's time zone (the policy calendar) plus
the dimensions a report groups by. A rebuild recomputes days whole from the raw rows
(``reports.rollups.rebuild_days``); the background refresh moves only what changed
tickets add, from each ticket's recorded share (``TicketShare``) to its new one.
Durations are kept as fixed-bucket histograms (``reports.histogram``) so that a median or
90th percentile over any range is computed from the rollups alone.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class VolumeRollup(models.Model):
    """Tickets opened per day, hour of day (team time), channel and category."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16)
    category = models.CharField(max_length=40, blank=True)
    created = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "hour", "channel", "category"], name="reports_volume_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.hour}h {self.channel}/{self.category}: {self.created}"


class TimingMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response time"
    RESOLUTION = "resolution", "Resolution time"


class TimingRollup(models.Model):
    """Durations ending on ``day`` (first reply sent, ticket resolved) as a histogram.

    ``count`` of resolution rows is also the number of tickets resolved that day, which
    the backlog chart subtracts from the tickets opened.
    """

    day = models.DateField()
    metric = models.CharField(max_length=16, choices=TimingMetric.choices)
    channel = models.CharField(max_length=16)
    category = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField(default=0)
    total_seconds = models.FloatField(default=0)
    # Counts per bucket of reports.histogram.BOUNDS; the list is as long as the bounds.
    buckets = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "metric", "channel", "category"], name="reports_timing_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.channel}/{self.category}: {self.count}"


class ComplianceRollup(models.Model):
    """Outcomes of the SLA clocks of one promise that ended (or breached) on ``day``.

    A clock counts on the day it stopped; a clock still running past its breach limit
    counts as breached on the day it breached, and moves to its stop day when it stops.
    """

    day = models.DateField()
    target_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=16)
    met = models.PositiveIntegerField(default=0)
    met_late = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "target_id", "channel"], name="reports_compliance_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.target_id}: {self.met}/{self.met_late}/{self.breached}"


class BreachRollup(models.Model):
    """The worst breaches of each promise on each day (at most ``WORST_PER_DAY``)."""

    WORST_PER_DAY = 10

    day = models.DateField()
    target_id = models.CharField(max_length=64)
    ticket_id = models.BigIntegerField()
    # How far past the breach limit the clock ended, or has run so far if still running.
    over_seconds = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["day", "target_id"], name="reports_breach_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.target_id} ticket {self.ticket_id}: +{self.over_seconds:.0f}s"


class CsatRollup(models.Model):
    """Ratings per day: only the latest rating of each ticket counts, on the day it was given."""

    day = models.DateField()
    channel = models.CharField(max_length=16)
    category = models.CharField(max_length=40, blank=True)
    # The ticket's assignee when the rollup was computed; NULL for unassigned tickets.
    agent_id = models.BigIntegerField(null=True)
    score = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="reports_csat_day")]

    def __str__(self) -> str:
        return f"{self.day} score {self.score}: {self.count}"


class EventRollup(models.Model):
    """Counts of the event kinds the reports show (escalations, conduct, SLA breaches...)."""

    day = models.DateField()
    kind = models.CharField(max_length=24)
    channel = models.CharField(max_length=16)
    category = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "channel", "category"], name="reports_event_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.count}"


class EscalationOutcome(models.TextChoices):
    CONTACTED_IN_TIME = "in_time", "Customer contacted in time"
    CONTACTED_LATE = "late", "Customer contacted late"
    OPEN = "open", "Not contacted yet"


class EscalationRollup(models.Model):
    """Escalations requested on ``day`` by what became of them."""

    day = models.DateField()
    channel = models.CharField(max_length=16)
    outcome = models.CharField(max_length=8, choices=EscalationOutcome.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "outcome"], name="reports_escalation_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.outcome}: {self.count}"


class AgentRollup(models.Model):
    """One agent's day: replies and notes written, tickets resolved and how long they took."""

    day = models.DateField()
    agent_id = models.BigIntegerField()
    replies = models.PositiveIntegerField(default=0)
    notes = models.PositiveIntegerField(default=0)
    assigned = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolution_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "agent_id"], name="reports_agent_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} agent {self.agent_id}"


class DeflectionRollup(models.Model):
    """Help Center answers that a customer said solved the question, per day and source."""

    day = models.DateField()
    source = models.CharField(max_length=20)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "source"], name="reports_deflection_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.source}: {self.count}"


class DayTotals(models.Model):
    """Tickets opened and resolved per day: the backlog before a range is a sum of these
    few rows rather than of every hour-level volume row since the first ticket."""

    day = models.DateField(primary_key=True)
    opened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: +{self.opened} -{self.resolved}"


class DirtyTicket(models.Model):
    """A ticket something happened to since the last refresh; its share gets recounted."""

    ticket_id = models.BigIntegerField(primary_key=True)
    # Written again by every mark, so that marking takes the row's lock: a refresh that
    # deletes the marker then waits for the marking change to commit, and reads it.
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}"


class DirtyDay(models.Model):
    """A day whose rollups are out of date for a reason other than a ticket (deflections)."""

    day = models.DateField(primary_key=True)
    marked_at = models.DateTimeField(default=timezone.now)  # as DirtyTicket.marked_at

    def __str__(self) -> str:
        return str(self.day)


class TicketShare(models.Model):
    """What one ticket adds to the rollups, as they count it now.

    ``entries`` is a compact JSON list of ``[part, day ordinal, *key, *values]`` (see
    ``reports.rollups.PARTS``). On every day, each rollup row is the sum of the entries of
    every ticket on that day: the refresh subtracts a changed ticket's entries and adds its
    new ones, and a rebuild of some days rewrites the entries on those days.
    """

    ticket_id = models.BigIntegerField(primary_key=True)
    entries = models.TextField()

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}"


class RollupsBeforeShares(models.Model):
    """Present while rollups written before ``TicketShare`` existed are still in place.

    Their tickets' shares are unknown, so the refresh recomputes those tickets' days until
    a rebuild of every day (``./manage.py reports_rebuild``) has recorded every share.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    def __str__(self) -> str:
        return "rollups from before ticket shares"
