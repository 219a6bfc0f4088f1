"""The refresh moves the rollups by changed tickets' shares; a full rebuild is the reference.

After random changes to tickets (status, category, channel, agent, ratings, SLA outcomes
and breaches, escalations, replies, tickets and events moving between days, tickets
deleted), refreshing from per-ticket differences must give exactly the rollups a full
rebuild computes from the raw rows.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from reports import rollups
from reports.models import (
    DayTotals,
    DirtyTicket,
    RollupsBeforeShares,
    TicketShare,
    TimingRollup,
    VolumeRollup,
)
from sla.models import Escalation, SlaClock
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db

CATEGORIES = ["order_status", "payments", "technical_support", ""]
CHANNELS = [Channel.EMAIL, Channel.LIVE_CHAT, Channel.FACEBOOK, Channel.WEB_FORM]
TARGETS = ["email_first_reply", "live_chat_first_reply", "dispute_resolution"]
DAYS = 12


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row as plain values, sorted, to compare two ways of computing them."""
    out = {}
    for model in rollups.ROLLUP_MODELS:
        fields = [f.name for f in model._meta.fields if f.name != "id"]
        rows = [tuple(row) for row in model.objects.values_list(*fields)]
        out[model.__name__] = sorted(rows, key=lambda row: [str(value) for value in row])
    return out


def _assert_same(incremental: dict[str, list[tuple]], rebuilt: dict[str, list[tuple]]) -> None:
    """Equal row for row; sums of seconds may differ in the last bits of a float."""
    for name, rows in rebuilt.items():
        got = incremental[name]
        assert len(got) == len(rows), (name, got, rows)
        for mine, theirs in zip(got, rows, strict=True):
            for a, b in zip(mine, theirs, strict=True):
                if isinstance(a, float) or isinstance(b, float):
                    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), (name, mine, theirs)
                else:
                    assert a == b, (name, mine, theirs)


def _rebuild_everything() -> dict[str, list[tuple]]:
    span = rollups.data_span()
    assert span is not None
    # Resolutions and replies may fall up to three days after now.
    rollups.rebuild_range(
        first=span[0] - dt.timedelta(days=DAYS + 2), last=span[1] + dt.timedelta(days=4)
    )
    return _snapshot()


class World:
    """Tickets over the last few days, and random changes to them straight in the rows."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.agents = [AgentFactory(), AgentFactory()]
        self.buyer = BuyerFactory()
        self.now = timezone.now().replace(microsecond=0)
        self.tickets: list[int] = []
        for n in range(14):
            ticket = ticket_open(
                requester=self.buyer,
                channel=self.rng.choice(CHANNELS),
                body=f"Question {n}",
                category=self.rng.choice(CATEGORIES),
            )
            self.tickets.append(ticket.pk)
            self.change(ticket.pk)

    def moment(self) -> dt.datetime:
        """Whole seconds, so that sums of durations are exact in any order."""
        return self.now - dt.timedelta(seconds=self.rng.randrange(DAYS * 86400))

    def change(self, pk: int) -> None:
        rng = self.rng
        created = self.moment()
        fields: dict[str, Any] = {"created_at": created}
        if rng.random() < 0.4:
            fields["category"] = rng.choice(CATEGORIES)
        if rng.random() < 0.2:
            fields["channel"] = rng.choice(CHANNELS)
        if rng.random() < 0.5:
            fields["assignee"] = rng.choice([None, *self.agents])
        later = created + dt.timedelta(seconds=rng.randrange(3 * 86400))
        fields["first_replied_at"] = later if rng.random() < 0.7 else None
        if rng.random() < 0.5:
            fields.update(status=TicketStatus.RESOLVED, resolved_at=later)
        else:
            fields.update(status=TicketStatus.OPEN, resolved_at=None)
        Ticket.objects.filter(pk=pk).update(**fields)

        ticket = Ticket.objects.get(pk=pk)
        for _ in range(rng.randrange(3)):
            kind = rng.choice(
                [
                    EventKind.RATED,
                    EventKind.MESSAGE_OUT,
                    EventKind.NOTE_ADDED,
                    EventKind.ASSIGNED,
                    EventKind.ESCALATED,
                    EventKind.SLA_BREACHED,
                    EventKind.CONDUCT_VIOLATION,
                ]
            )
            data: dict[str, Any] = {}
            actor = rng.choice(self.agents)
            if kind == EventKind.RATED:
                data = {"score": rng.randint(1, 5), "channel": rng.choice(["", "email"])}
                actor = self.buyer
            elif kind == EventKind.ASSIGNED:
                data = {"old": None, "new": actor.pk}
            event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)
            TicketEvent.objects.filter(pk=event.pk).update(created_at=self.moment())
        events = list(TicketEvent.objects.filter(ticket_id=pk).values_list("pk", flat=True))
        if events and rng.random() < 0.3:  # an event moves to another day
            TicketEvent.objects.filter(pk=rng.choice(events)).update(created_at=self.moment())

        if rng.random() < 0.5:
            SlaClock.objects.filter(ticket_id=pk).delete()
            for n in range(rng.randrange(1, 3)):
                self._clock(ticket, live_allowed=n == 0)  # one live clock per promise
        if rng.random() < 0.3:
            Escalation.objects.filter(ticket_id=pk).delete()
            asked = self.moment()
            Escalation.objects.create(
                ticket=ticket,
                channel=ticket.channel,
                status="contacted",
                contact_due_at=asked + dt.timedelta(hours=48),
                contacted_at=rng.choice(
                    [None, asked + dt.timedelta(hours=2), asked + dt.timedelta(hours=60)]
                ),
            )
            Escalation.objects.filter(ticket_id=pk).update(created_at=asked)

    def _clock(self, ticket: Ticket, *, live_allowed: bool) -> None:
        rng = self.rng
        started = self.moment()
        live = live_allowed and rng.random() < 0.25
        over = float(rng.randrange(-3000, 9000))
        SlaClock.objects.create(
            ticket=ticket,
            target_id=rng.choice(TARGETS),
            measure="first_reply",
            business=False,
            target_seconds=3600,
            breach_seconds=7200,
            warn_fraction=0.8,
            status="running" if live else "stopped",
            started_at=started,
            # A live clock's lateness grows with the time read; without a limit it is fixed.
            breached_at=self.moment() if live else None,
            stopped_at=None if live else self.moment(),
            outcome="" if live else rng.choice(["met", "met_late", "breached", "breached"]),
            over_breach_seconds=over,
        )

    def shake(self, count: int) -> list[int]:
        """Change ``count`` random tickets, open a new one now and then, delete one."""
        changed = self.rng.sample(self.tickets, count)
        for pk in changed:
            self.change(pk)
        if self.rng.random() < 0.5:
            ticket = ticket_open(
                requester=self.buyer, channel=Channel.EMAIL, body="Another question"
            )
            self.tickets.append(ticket.pk)
            self.change(ticket.pk)
            changed.append(ticket.pk)
        if self.rng.random() < 0.4:
            gone = self.rng.choice(self.tickets)
            self.tickets.remove(gone)
            Ticket.objects.filter(pk=gone).delete()
            changed.append(gone)
        rollups.mark_tickets_dirty(changed)
        return changed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_refreshing_changed_tickets_equals_a_full_rebuild(seed):
    world = World(seed)
    _rebuild_everything()
    rollups.refresh_dirty()
    assert VolumeRollup.objects.exists()

    for round_ in range(6):
        world.shake(count=4)
        if round_ % 3 == 2:
            # A rebuild of a few days while tickets wait for the refresh: the days are
            # recomputed from the rows, and the waiting tickets' shares follow them.
            day = timezone.localdate(world.moment(), rollups.team_zone())
            rollups.rebuild_days(first=day, last=day + dt.timedelta(days=1))
        rollups.refresh_dirty(batch=3)
        assert not DirtyTicket.objects.exists()
        incremental = _snapshot()

        rebuilt = _rebuild_everything()
        _assert_same(incremental, rebuilt)


def test_a_refresh_interrupted_half_way_counts_nothing_twice():
    world = World(seed=7)
    _rebuild_everything()
    rollups.refresh_dirty()
    before = _snapshot()
    shares = dict(TicketShare.objects.values_list("ticket_id", "entries"))

    changed = world.shake(count=5)
    # The worker dies after the rollups moved, before the shares were written.
    with (
        mock.patch.object(rollups, "_save_shares", side_effect=RuntimeError("worker killed")),
        pytest.raises(RuntimeError),
    ):
        rollups.refresh_dirty()

    _assert_same(_snapshot(), before)
    assert dict(TicketShare.objects.values_list("ticket_id", "entries")) == shares
    assert set(DirtyTicket.objects.values_list("ticket_id", flat=True)) == set(changed)

    rollups.refresh_dirty()
    incremental = _snapshot()
    _assert_same(incremental, _rebuild_everything())


def test_a_refresh_costs_the_changed_tickets_not_their_days(django_assert_max_num_queries):
    world = World(seed=11)
    for n in range(30):  # the days grow: thirty more tickets on them, not changed later
        ticket = ticket_open(requester=world.buyer, channel=Channel.EMAIL, body=f"More {n}")
        Ticket.objects.filter(pk=ticket.pk).update(created_at=world.moment())
    _rebuild_everything()
    rollups.refresh_dirty()
    world.shake(count=2)

    # A bounded number of statements, whatever the days hold: one read per source for all
    # the changed tickets, and a read and at most three writes per rollup table changed.
    with django_assert_max_num_queries(60):
        rollups.refresh_dirty()
    _assert_same(_snapshot(), _rebuild_everything())


def test_rollups_from_before_shares_are_recomputed_by_day_until_a_full_rebuild():
    world = World(seed=5)
    _rebuild_everything()
    rollups.refresh_dirty()
    # As after upgrading: rollups in place, no share recorded for their tickets.
    TicketShare.objects.all().delete()
    RollupsBeforeShares.objects.create()

    changed = world.shake(count=4)
    rollups.refresh_dirty()
    # The days the tickets are on now were recomputed whole, as before shares existed.
    opened = {
        timezone.localdate(created, rollups.team_zone())
        for created in Ticket.objects.filter(pk__in=changed).values_list("created_at", flat=True)
    }
    assert opened <= set(VolumeRollup.objects.values_list("day", flat=True))
    assert RollupsBeforeShares.objects.exists()  # a few days rebuilt are not every day

    _rebuild_everything()
    assert not RollupsBeforeShares.objects.exists()  # every share is recorded now
    world.shake(count=4)
    rollups.refresh_dirty()
    _assert_same(_snapshot(), _rebuild_everything())


def test_a_resolution_moving_to_another_day_moves_its_counts(buyer, agent):
    ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Broken screen")
    today = timezone.localdate(timezone.now(), rollups.team_zone())
    resolved = timezone.now().replace(microsecond=0)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.RESOLVED, resolved_at=resolved, assignee=agent
    )
    rollups.mark_tickets_dirty([ticket.pk])
    rollups.refresh_dirty()
    assert DayTotals.objects.get(day=today).resolved == 1

    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=resolved + dt.timedelta(days=1))
    rollups.mark_tickets_dirty([ticket.pk])
    rollups.refresh_dirty()

    tomorrow = today + dt.timedelta(days=1)
    assert DayTotals.objects.get(day=today).resolved == 0  # still opened that day
    assert DayTotals.objects.get(day=tomorrow).resolved == 1
    resolution = TimingRollup.objects.get(metric="resolution")
    assert (resolution.day, resolution.count, sum(resolution.buckets)) == (tomorrow, 1, 1)


def test_a_rollup_row_lost_behind_the_refreshs_back_does_not_stop_it(buyer, caplog):
    ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Where is my order?")
    rollups.refresh_dirty()
    VolumeRollup.objects.all().delete()  # by hand, say
    Ticket.objects.filter(pk=ticket.pk).update(category="payments")
    rollups.mark_tickets_dirty([ticket.pk])

    rollups.refresh_dirty()

    assert not DirtyTicket.objects.exists()
    assert "below zero" in caplog.text
    assert list(VolumeRollup.objects.values_list("category", "created")) == [("payments", 1)]


@pytest.mark.django_db(transaction=True)
def test_a_change_committing_while_a_refresh_takes_its_marker_is_counted(buyer):
    """A ticket already marked changes again while a refresh runs: the refresh must not
    read the ticket before that change commits and then delete the marker standing for it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: a refresh cannot overlap a change")
    ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Where is my order?")
    rollups.refresh_dirty()
    rollups.mark_tickets_dirty([ticket.pk])  # an earlier change, not refreshed yet
    marked, commit = threading.Event(), threading.Event()

    def change() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.filter(pk=ticket.pk).update(category="payments")
                rollups.mark_tickets_dirty([ticket.pk])
                marked.set()
                commit.wait(30)
        finally:
            connections.close_all()

    def refresh() -> None:
        try:
            rollups.refresh_dirty()
        finally:
            connections.close_all()

    changing = threading.Thread(target=change)
    changing.start()
    assert marked.wait(30)
    refreshing = threading.Thread(target=refresh)
    refreshing.start()
    # Let the refresh either finish (reading the ticket as it was) or wait for the lock.
    deadline = time.monotonic() + 30
    while refreshing.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    commit.set()
    changing.join(30)
    refreshing.join(30)
    rollups.refresh_dirty()

    assert list(VolumeRollup.objects.values_list("category", "created")) == [("payments", 1)]
