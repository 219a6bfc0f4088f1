"""Rollups kept current by the background refresh, and equal to a full rebuild."""

from __future__ import annotations

import datetime as dt
import io
import statistics

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports import histogram, rollups
from reports.models import (
    AgentRollup,
    ComplianceRollup,
    CsatRollup,
    DirtyTicket,
    TimingRollup,
    VolumeRollup,
)
from sla.models import SlaClock
from tickets import events
from tickets.choices import Channel, TicketStatus
from tickets.models import Ticket
from tickets.services import ticket_open, ticket_reply, ticket_update

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate(timezone.now(), rollups.team_zone())


def _work_the_queue(run_tasks, capture) -> None:
    """Run queued tasks, and what they queue on commit (deliveries write events too)."""
    for _ in range(10):
        with capture(execute=True):
            if run_tasks() == 0:
                return


def _snapshot() -> dict[str, list[tuple]]:
    """Every rollup row as plain values, to compare two ways of computing them."""
    out = {}
    for model in rollups.ROLLUP_MODELS:
        fields = [f.name for f in model._meta.fields if f.name != "id"]
        out[model.__name__] = sorted(
            tuple(str(v) for v in row) for row in model.objects.values_list(*fields)
        )
    return out


def _three_requests(buyer, agent):
    """Three requests, two answered, one solved and rated twice (2, then 5)."""
    email = ticket_open(
        requester=buyer, channel=Channel.EMAIL, body="Where is my phone?", category="order_status"
    )
    chat = ticket_open(
        requester=buyer, channel=Channel.LIVE_CHAT, body="Refund please", category="payments"
    )
    ticket_open(
        requester=buyer, channel=Channel.EMAIL, body="Login fails", category="technical_support"
    )
    ticket_update(ticket=email, actor=agent, assignee=agent)
    ticket_reply(ticket=email, author=agent, body="It arrives tomorrow.")
    ticket_reply(ticket=chat, author=agent, body="Refund sent.", through_outbox=False)
    ticket_update(ticket=email, actor=agent, status=TicketStatus.RESOLVED)
    email.refresh_from_db()
    events.rated(ticket=email, actor=buyer, channel="email", score=2, comment="slow")
    events.rated(ticket=email, actor=buyer, channel="email", score=5, comment="sorted!")


def test_background_refresh_counts_tickets_replies_resolutions_and_latest_rating(
    buyer, agent, run_tasks, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        _three_requests(buyer, agent)

    # when: the worker runs what was queued on commit
    _work_the_queue(run_tasks, django_capture_on_commit_callbacks)

    # then
    today = _today()
    assert DirtyTicket.objects.count() == 0
    assert sum(VolumeRollup.objects.filter(day=today).values_list("created", flat=True)) == 3
    first = TimingRollup.objects.filter(day=today, metric="first_response")
    assert sum(row.count for row in first) == 2
    assert TimingRollup.objects.get(day=today, metric="resolution").count == 1
    # the customer changed the rating from 2 to 5: one rating, the latest, counts
    assert list(CsatRollup.objects.values_list("score", "count", "agent_id")) == [(5, 1, agent.pk)]
    work = AgentRollup.objects.get(day=today, agent_id=agent.pk)
    # assigned: the email by hand, the chat by replying to it unassigned
    assert Ticket.objects.filter(assignee=agent).count() == 2
    assert (work.replies, work.resolved, work.assigned) == (2, 1, 2)


def test_full_rebuild_gives_the_same_rollups_as_the_incremental_refresh(
    buyer, agent, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _three_requests(buyer, agent)
    _work_the_queue(run_tasks, django_capture_on_commit_callbacks)
    incremental = _snapshot()
    assert incremental["VolumeRollup"]

    call_command("reports_rebuild", stdout=io.StringIO(), stderr=io.StringIO())

    assert _snapshot() == incremental


def test_days_are_the_support_teams_days(buyer):
    # 23:30 UTC on 1 March is 00:30 on 2 March in Lagos (UTC+1)
    ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Late night question")
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=late)

    rollups.rebuild_days(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 2))

    row = VolumeRollup.objects.get()
    assert (row.day, row.hour) == (dt.date(2026, 3, 2), 0)


def test_a_reopened_ticket_leaves_the_day_it_was_first_resolved(
    buyer, agent, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Broken screen")
        ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)
    _work_the_queue(run_tasks, django_capture_on_commit_callbacks)
    assert TimingRollup.objects.filter(metric="resolution").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    ticket.refresh_from_db()
    _work_the_queue(run_tasks, django_capture_on_commit_callbacks)

    assert ticket.resolved_at is None
    assert not TimingRollup.objects.filter(metric="resolution").exists()


def test_compliance_counts_each_stopped_clock_once_with_its_outcome(buyer):
    ticket = ticket_open(requester=buyer, channel=Channel.LIVE_CHAT, body="Hello?")
    now = timezone.now()
    SlaClock.objects.filter(ticket=ticket).delete()
    common = dict(
        ticket=ticket,
        measure="first_reply",
        business=True,
        target_seconds=120,
        breach_seconds=300,
        warn_fraction=0.8,
        status="stopped",
        started_at=now,
        stopped_at=now,
        target_id="live_chat_first_reply",
    )
    SlaClock.objects.create(**common, outcome="met", over_breach_seconds=-200)
    SlaClock.objects.create(**common, outcome="met_late", over_breach_seconds=-20)
    SlaClock.objects.create(**common, outcome="breached", over_breach_seconds=600)

    rollups.rebuild_days(first=_today(), last=_today())

    row = ComplianceRollup.objects.get(target_id="live_chat_first_reply")
    assert (row.met, row.met_late, row.breached) == (1, 1, 1)


def test_percentiles_from_buckets_are_within_the_bucket_width():
    durations = [30 + 7 * n for n in range(1000)] + [86400 * 2] * 50
    buckets = histogram.empty()
    for seconds in durations:
        buckets[histogram.bucket_of(seconds)] += 1
    true_median = statistics.median(durations)
    true_p90 = sorted(durations)[int(0.9 * len(durations)) - 1]

    assert histogram.percentile(buckets, 50) == pytest.approx(true_median, rel=0.08)
    assert histogram.percentile(buckets, 90) == pytest.approx(true_p90, rel=0.08)
    assert histogram.percentile(histogram.empty(), 50) is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_recomputing_the_same_day_do_not_collide(buyer):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has a single writer; the advisory lock is for PostgreSQL")
    import threading

    for n in range(20):
        ticket_open(requester=buyer, channel=Channel.EMAIL, body=f"Question {n}")
    today = _today()
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            for _ in range(5):
                rollups.rebuild_days(first=today, last=today)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=rebuild) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert sum(VolumeRollup.objects.filter(day=today).values_list("created", flat=True)) == 20


def test_rebuild_command_refuses_a_backwards_or_unreadable_range_and_shows_progress(buyer):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--to 2026-05-01 is before --from 2026-05-10"):
        call_command("reports_rebuild", "--from", "2026-05-10", "--to", "2026-05-01")
    with pytest.raises(CommandError, match="'May 1st' is not a date"):
        call_command("reports_rebuild", "--from", "May 1st")

    ticket_open(requester=buyer, channel=Channel.EMAIL, body="Hello")
    out, err = io.StringIO(), io.StringIO()
    call_command("reports_rebuild", "--from", "2026-01-01", stdout=out, stderr=err)
    assert "Rebuilt" in out.getvalue()
    assert "Rebuilding rollups: 100%" in err.getvalue()
    assert VolumeRollup.objects.filter(day=_today()).exists()
