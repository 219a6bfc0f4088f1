import datetime as dt

import pytest
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from sla import services as sla
from sla.models import ClockStatus, Outcome, SlaClock
from tickets import services
from tickets.choices import Channel, EventKind, TicketKind, TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

LAGOS = dt.timezone(dt.timedelta(hours=1))  # Africa/Lagos: UTC+1, no daylight saving


def lagos(*args):
    return dt.datetime(*args, tzinfo=LAGOS)


def test_contact_form_ticket_gets_the_email_promise_of_24_calendar_hours(
    django_capture_on_commit_callbacks,
):
    ticket = services.ticket_open(
        requester=TicketFactory().requester,
        channel=Channel.WEB_FORM,
        category="payments",
        body="Charged twice",
    )
    clock = SlaClock.objects.get(ticket=ticket)
    assert clock.target_id == "email_first_reply"
    assert clock.due_at - clock.started_at == dt.timedelta(hours=24)
    assert clock.warn_at - clock.started_at == dt.timedelta(hours=24 * 0.8)
    ticket.refresh_from_db()
    assert ticket.first_reply_due_at == clock.due_at


def test_chat_opened_on_sunday_starts_its_business_clock_on_monday_morning():
    ticket = TicketFactory(channel=Channel.LIVE_CHAT)
    sla.on_ticket_opened(ticket=ticket, at=lagos(2026, 11, 22, 15, 0))  # Sunday
    clock = SlaClock.objects.get(ticket=ticket)
    assert clock.target_id == "live_chat_first_reply"
    assert clock.due_at == lagos(2026, 11, 23, 8, 2)
    assert clock.breach_at == lagos(2026, 11, 23, 8, 5)


@pytest.mark.parametrize(
    ("reply_after", "outcome"),
    [
        (dt.timedelta(minutes=1), Outcome.MET),
        (dt.timedelta(minutes=4), Outcome.MET_LATE),
        (dt.timedelta(minutes=9), Outcome.BREACHED),
    ],
)
def test_first_agent_reply_stops_the_chat_clock_with_its_outcome(reply_after, outcome):
    ticket = TicketFactory(channel=Channel.LIVE_CHAT)
    opened = lagos(2026, 11, 23, 10, 0)  # Monday, open
    sla.on_ticket_opened(ticket=ticket, at=opened)
    sla.on_agent_reply(ticket=ticket, at=opened + reply_after)
    clock = SlaClock.objects.get(ticket=ticket)
    assert clock.status == ClockStatus.STOPPED
    assert clock.outcome == outcome
    assert clock.elapsed_seconds == reply_after.total_seconds()
    assert clock.over_breach_seconds == reply_after.total_seconds() - 300
    assert ticket.events.filter(kind=EventKind.SLA_STOPPED, data__outcome=outcome).exists()


def test_dispute_clock_pauses_while_waiting_on_the_customer():
    ticket = TicketFactory(channel=Channel.EMAIL, kind=TicketKind.DISPUTE, category="returns")
    monday = lagos(2026, 11, 23, 9, 0)
    sla.on_ticket_opened(ticket=ticket, at=monday)
    dispute = SlaClock.objects.get(ticket=ticket, target_id="dispute_resolution")
    # 3 business days of a 12-hour business day: Thursday 09:00.
    assert dispute.due_at == lagos(2026, 11, 26, 9, 0)
    # Waiting on the customer from Monday 11:00 to Tuesday 11:00 (12 business hours).
    sla.on_status_changed(
        ticket=ticket, old="open", new=TicketStatus.PENDING, at=lagos(2026, 11, 23, 11, 0)
    )
    dispute.refresh_from_db()
    assert dispute.status == ClockStatus.PAUSED and dispute.due_at is None
    sla.on_customer_message(ticket=ticket, at=lagos(2026, 11, 24, 11, 0))
    dispute.refresh_from_db()
    assert dispute.status == ClockStatus.RUNNING
    assert dispute.due_at == lagos(2026, 11, 27, 9, 0)
    sla.on_status_changed(
        ticket=ticket, old="open", new=TicketStatus.RESOLVED, at=lagos(2026, 11, 25, 9, 0)
    )
    dispute.refresh_from_db()
    assert dispute.outcome == Outcome.MET
    # Business hours counted: Mon 09-11, Tue 11-20, Wed 08-09.
    assert dispute.elapsed_seconds == (2 + 9 + 1) * 3600


def test_each_new_customer_message_after_a_reply_owes_a_next_reply():
    ticket = TicketFactory(channel=Channel.EMAIL)
    opened = timezone.now() - dt.timedelta(hours=3)
    sla.on_ticket_opened(ticket=ticket, at=opened)
    sla.on_agent_reply(ticket=ticket, at=opened + dt.timedelta(hours=1))
    ticket.first_replied_at = opened + dt.timedelta(hours=1)
    asked_again = opened + dt.timedelta(hours=2)
    sla.on_customer_message(ticket=ticket, at=asked_again)
    sla.on_customer_message(ticket=ticket, at=asked_again + dt.timedelta(minutes=5))
    running = SlaClock.objects.get(ticket=ticket, status=ClockStatus.RUNNING)
    # One clock from the first unanswered message, not restarted by the second.
    assert running.target_id == "email_next_reply"
    assert running.due_at == asked_again + dt.timedelta(hours=24)
    ticket.refresh_from_db()
    assert ticket.next_reply_due_at == running.due_at
    sla.on_agent_reply(ticket=ticket, at=asked_again + dt.timedelta(minutes=30))
    running.refresh_from_db()
    assert running.outcome == Outcome.MET


def test_closing_an_unanswered_ticket_cancels_its_reply_clock():
    ticket = TicketFactory(channel=Channel.EMAIL)
    sla.on_ticket_opened(ticket=ticket, at=timezone.now())
    services.ticket_update(ticket=ticket, actor=AgentFactory(), status=TicketStatus.CLOSED)
    clock = SlaClock.objects.get(ticket=ticket)
    assert clock.status == ClockStatus.CANCELLED and clock.outcome == ""
    ticket.refresh_from_db()
    assert ticket.first_reply_due_at is None


def test_overdue_timers_fire_through_the_task_queue_once(
    django_capture_on_commit_callbacks, run_tasks
):
    ticket = TicketFactory(channel=Channel.LIVE_CHAT)
    opened = timezone.now() - dt.timedelta(days=8)  # long enough ago for any opening hours
    with django_capture_on_commit_callbacks(execute=True):
        sla.on_ticket_opened(ticket=ticket, at=opened)
    # Timers are chained: each one enqueues the next on commit.
    ran = []
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            ran.append(run_tasks())
    assert ran == [1, 1, 1, 0, 0]
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.SLA_WARNED) == 1
    assert kinds.count(EventKind.SLA_TARGET_MISSED) == 1
    assert kinds.count(EventKind.SLA_BREACHED) == 1
    clock = SlaClock.objects.get(ticket=ticket)
    assert clock.breached_at is not None
    # A duplicated timer does nothing more.
    again = sla.clock_fire(
        clock_id=clock.pk, moment="breach", expected_at=clock.breach_at.isoformat()
    )
    assert again == "duplicate"
    assert ticket.events.filter(kind=EventKind.SLA_BREACHED).count() == 1


def test_stale_early_and_orphan_timers_do_nothing(django_capture_on_commit_callbacks):
    ticket = TicketFactory(channel=Channel.EMAIL)
    sla.on_ticket_opened(ticket=ticket, at=timezone.now())
    clock = SlaClock.objects.get(ticket=ticket)
    assert (
        sla.clock_fire(clock_id=clock.pk, moment="warn", expected_at=clock.warn_at.isoformat())
        == "early"
    )
    assert (
        sla.clock_fire(clock_id=clock.pk, moment="warn", expected_at="2020-01-01T00:00:00+00:00")
        == "stale"
    )
    sla.on_agent_reply(ticket=ticket, at=timezone.now())
    assert (
        sla.clock_fire(clock_id=clock.pk, moment="breach", expected_at="2020-01-01T00:00:00+00:00")
        == "not running"
    )
    ticket.delete()
    assert sla.clock_fire(clock_id=clock.pk, moment="breach", expected_at="x") == "gone"
    assert not SlaClock.objects.exists()
