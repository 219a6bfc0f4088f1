"""The reports landing page: today at a glance, from known data, in bounded queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AgentFactory, SellerUserFactory
from chat.models import AgentPresence, ChatSession, Presence, SessionState
from reports import overview, rollups
from reports.models import AgentRollup, CsatRollup
from reports.ranges import DateRange
from reports.selectors import agents_csv, agents_report
from sla.models import SlaClock
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate(timezone.now(), rollups.team_zone())


@pytest.fixture
def known_day(buyer, agent):
    """Five email tickets in known states, two chats queued, presence and ratings."""
    now = timezone.now()
    tickets = [
        ticket_open(requester=buyer, channel=Channel.EMAIL, body=f"Question {n}") for n in range(5)
    ]
    Ticket.objects.filter(pk=tickets[0].pk).update(status=TicketStatus.PENDING)
    Ticket.objects.filter(pk=tickets[1].pk).update(status=TicketStatus.RESOLVED)
    Ticket.objects.filter(pk=tickets[2].pk).update(assignee=agent, status=TicketStatus.OPEN)
    clocks = SlaClock.objects.filter(
        ticket_id__in=[t.pk for t in tickets[2:]], target_id="email_first_reply"
    ).order_by("ticket_id")
    ids = list(clocks.values_list("pk", flat=True))
    assert len(ids) == 3
    # One inside its warning window, one past the limit, one still comfortable.
    SlaClock.objects.filter(pk=ids[0]).update(
        warn_at=now - dt.timedelta(minutes=5), breach_at=now + dt.timedelta(hours=1)
    )
    SlaClock.objects.filter(pk=ids[1]).update(
        warn_at=now - dt.timedelta(hours=5), breach_at=now - dt.timedelta(hours=1)
    )
    for minutes in (7, 2):
        chat = ticket_open(requester=buyer, channel=Channel.LIVE_CHAT, body="Hello?")
        ChatSession.objects.create(
            ticket=chat,
            customer=buyer,
            state=SessionState.WAITING,
            queued_at=now - dt.timedelta(minutes=minutes),
        )
    seller = SellerUserFactory(username="gadgethub.seller")
    stale = AgentFactory(username="gone.agent")
    for user, seen in ((agent, now), (seller, now), (stale, now - dt.timedelta(hours=3))):
        AgentPresence.objects.create(agent=user, status=Presence.ONLINE, last_seen_at=seen)
    today = _today()
    for score, n in ((5, 3), (2, 1)):
        CsatRollup.objects.create(
            day=today, channel="email", category="", agent_id=agent.pk, score=score, count=n
        )
    # Last week's ratings do not count this week.
    CsatRollup.objects.create(
        day=today - dt.timedelta(days=8), channel="email", category="", score=1, count=9
    )
    return now


def test_overview_figures_on_known_data(known_day, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        o = overview.overview(now=known_day)
    # Unresolved: three active email tickets, the pending one and the two chats.
    assert (o.open, o.waiting) == (6, 1)
    assert o.unassigned == 4  # two email tickets and two chats
    email = next(p for p in o.promises if p.target_id == "email_first_reply")
    assert (email.breaching, email.breached) == (1, 1)
    assert [p.target_id for p in o.promises] == [
        "live_chat_first_reply",
        "email_first_reply",
        "dispute_resolution",
        "escalation_contact",
    ]
    assert o.chat_waiting == 2
    assert o.longest_chat_wait_text == "7.0 min"
    assert o.agents_online == 1  # the seller and the silent console do not count
    assert o.csat_ratings == 4
    assert o.csat_average == pytest.approx(17 / 4)


def test_supervisor_sees_today_at_a_glance(client, supervisor, known_day):
    client.force_login(supervisor)
    page = client.get(reverse("reports:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Today at a glance" in html
    assert 'data-figure="open">6<' in html
    assert 'data-figure="csat">4.25<' in html
    assert "Africa/Lagos" in html
    assert "WAT" in html  # the as-of time is in the team's zone
    assert f"{reverse('console:inbox')}?view=unassigned" in html
    assert reverse("console:sla_board") in html
    assert reverse("chat:desk") in html


def test_agents_and_customers_may_not_see_the_overview(client, agent, buyer):
    for user in (agent, buyer, SellerUserFactory(username="s")):
        client.force_login(user)
        assert client.get(reverse("reports:index")).status_code == 403


def test_sellers_never_appear_among_agents(agent, buyer):
    """A seller answering a dispute writes replies, but is no agent of the team."""
    seller = SellerUserFactory(username="gadgethub.seller", display_name="GadgetHub")
    ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Broken screen")
    for actor in (seller, agent):
        TicketEvent.objects.create(ticket=ticket, kind=EventKind.MESSAGE_OUT, actor=actor)
    today = _today()
    rollups.rebuild_range(first=today, last=today)
    assert set(AgentRollup.objects.values_list("agent_id", flat=True)) == {agent.pk}
    # Rollups written before the fix hold the seller's row: the report still leaves it out.
    AgentRollup.objects.create(day=today, agent_id=seller.pk, replies=4)
    span = DateRange(today, today)
    rows = agents_report(span).sections[0].rows
    assert [row[0] for row in rows] == [str(agent)]
    _, lines = agents_csv(span)
    assert {line[1] for line in lines} == {agent.pk}
