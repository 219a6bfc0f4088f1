"""Reassignment when an agent goes offline, loses the heartbeat or is over capacity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from chat import services as chat
from chat.models import AgentPresence, Presence
from tickets import services as tickets
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.models import Ticket
from workload import services
from workload.models import PresenceWatch, Reason, Reassignment

pytestmark = pytest.mark.django_db


def _online(*agents):
    for agent in agents:
        chat.presence_set(agent=agent, status=Presence.ONLINE)


def _waiting_ticket(agent, *, body="The app crashes at checkout.", channel=Channel.WEB_FORM):
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=channel, category="technical_support", body=body
    )
    return tickets.ticket_update(ticket=ticket, actor=agent, assignee=agent)


@pytest.fixture
def team():
    # Technical Support assigns to the least loaded agent (capacity 25).
    leaving = AgentFactory(username="ada", teams=["technical"])
    staying = AgentFactory(username="tunde", teams=["technical"])
    return leaving, staying


def test_going_offline_moves_waiting_tickets_to_an_available_agent(
    team, client, run_tasks, django_capture_on_commit_callbacks
):
    leaving, staying = team
    _online(leaving, staying)
    waiting = _waiting_ticket(leaving)
    answered = _waiting_ticket(leaving)
    tickets.ticket_reply(ticket=answered, author=leaving, body="It ships today.")
    on_hold_chat = _waiting_ticket(leaving, channel=Channel.LIVE_CHAT)

    with django_capture_on_commit_callbacks(execute=True):
        chat.presence_set(agent=leaving, status=Presence.OFFLINE)
    run_tasks()

    waiting.refresh_from_db()
    assert waiting.assignee == staying
    event = waiting.events.filter(kind=EventKind.ASSIGNED).order_by("-pk").first()
    assert event.data == {"old": leaving.pk, "new": staying.pk, "reason": "agent_offline"}
    # an answered ticket waits on the customer, and chats follow the chat queue
    answered.refresh_from_db()
    on_hold_chat.refresh_from_db()
    assert answered.assignee == leaving and on_hold_chat.assignee == leaving
    assert list(Reassignment.objects.values_list("ticket_id", "reason")) == [
        (waiting.pk, Reason.AGENT_OFFLINE)
    ]
    # the ticket's history says why
    client.force_login(staying)
    page = client.get(reverse("console:ticket", args=[waiting.pk])).content.decode()
    assert "Assigned (agent went offline)" in page


def test_with_nobody_available_the_ticket_goes_back_to_the_team_queue(team):
    leaving, _staying = team
    _online(leaving)
    ticket = _waiting_ticket(leaving)
    chat.presence_set(agent=leaving, status=Presence.OFFLINE)
    services.tickets_reassign_from(agent=leaving, reason=Reason.AGENT_OFFLINE)
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.team == "technical"
    assert Reassignment.objects.get().to_agent is None


def test_a_lost_heartbeat_moves_the_tickets_when_the_watch_fires(
    team, settings, django_capture_on_commit_callbacks
):
    leaving, staying = team
    with django_capture_on_commit_callbacks(execute=True):
        _online(leaving, staying)
    ticket = _waiting_ticket(leaving)
    watch = PresenceWatch.objects.get(agent=leaving)
    timeout = dt.timedelta(seconds=settings.IZONIE_CHAT_PRESENCE_TIMEOUT_SECONDS)
    assert watch.due_at > timezone.now() + timeout - dt.timedelta(seconds=5)

    # the console is still there: the watch re-arms, nothing moves
    assert services.presence_check(agent_id=leaving.pk, expected_due=watch.due_at.isoformat()) == (
        "online"
    )
    ticket.refresh_from_db()
    assert ticket.assignee == leaving
    # a timer task for a moment the watch no longer holds (superseded) does nothing
    assert services.presence_check(agent_id=leaving.pk, expected_due="2000-01-01") == ("superseded")

    # the laptop closes: no heartbeat for longer than the timeout
    AgentPresence.objects.filter(agent=leaving).update(
        last_seen_at=timezone.now() - timeout - dt.timedelta(seconds=10)
    )
    due = PresenceWatch.objects.get(agent=leaving).due_at.isoformat()
    assert services.presence_check(agent_id=leaving.pk, expected_due=due) == "lost"
    ticket.refresh_from_db()
    assert ticket.assignee == staying
    assert Reassignment.objects.get().reason == Reason.HEARTBEAT_LOST
    assert not PresenceWatch.objects.filter(agent=leaving).exists()


def test_an_agent_over_capacity_gives_back_the_excess(team, settings, tmp_path):
    from policy.loader import reset_policy_cache

    source = (settings.BASE_DIR / "policies" / "izonie.yaml").read_text()
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        source.replace(
            "{key: technical, name: Technical Support, assignment: least_loaded, capacity: 25}",
            "{key: technical, name: Technical Support, assignment: least_loaded, capacity: 2}",
        )
    )
    settings.IZONIE_POLICY_FILE = str(policy_file)
    reset_policy_cache()
    leaving, staying = team
    _online(leaving, staying)
    mine = [_waiting_ticket(leaving) for _ in range(4)]
    # a supervisor piled them on one agent; the next check gives back the two oldest
    moved = services.agent_rebalance(agent=leaving)
    assert [r.ticket_id for r in moved] == [mine[0].pk, mine[1].pk]
    assert Ticket.objects.filter(assignee=leaving).count() == 2
    assert Ticket.objects.filter(assignee=staying).count() == 2
    assert {r.reason for r in moved} == {Reason.OVER_CAPACITY}


def test_a_supervisor_override_is_kept(team, client):
    leaving, staying = team
    _online(leaving, staying)
    ticket = _waiting_ticket(leaving)
    chat.presence_set(agent=leaving, status=Presence.OFFLINE)
    services.tickets_reassign_from(agent=leaving, reason=Reason.AGENT_OFFLINE)

    # the console shows the move and its reason
    supervisor = SupervisorFactory()
    client.force_login(supervisor)
    page = client.get(reverse("console:workload")).content.decode()
    assert ticket.reference in page and "Agent went offline" in page

    # the supervisor gives it back to the first agent and pins it there
    response = client.post(
        reverse("console:workload_override", args=[ticket.pk]), {"agent": leaving.pk}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == leaving
    services.tickets_reassign_from(agent=leaving, reason=Reason.AGENT_OFFLINE)
    ticket.refresh_from_db()
    assert ticket.assignee == leaving
    last = ticket.events.filter(kind=EventKind.ASSIGNED).order_by("-pk").first()
    assert last.data["reason"] == "supervisor_override" and last.actor == supervisor


def test_only_supervisors_override(team, client):
    leaving, staying = team
    ticket = _waiting_ticket(leaving)
    client.force_login(staying)
    response = client.post(
        reverse("console:workload_override", args=[ticket.pk]), {"agent": staying.pk}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.assignee == leaving
    client.force_login(SupervisorFactory())
    response = client.post(reverse("console:workload_override", args=[ticket.pk]), {"agent": "x"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == leaving


def test_back_online_before_the_task_runs_keeps_the_tickets(team):
    leaving, staying = team
    _online(leaving, staying)
    ticket = _waiting_ticket(leaving)
    assert services.tickets_reassign_from(agent=leaving, reason=Reason.AGENT_OFFLINE) == []
    ticket.refresh_from_db()
    assert ticket.assignee == leaving
    assert ticket.status in (TicketStatus.NEW, TicketStatus.OPEN)


def test_a_heartbeat_arms_the_watch_for_an_agent_online_since_before_a_restart(team):
    leaving, _staying = team
    AgentPresence.objects.create(agent=leaving, status=Presence.ONLINE, last_seen_at=timezone.now())
    assert not PresenceWatch.objects.filter(agent=leaving).exists()
    chat.presence_heartbeat(agent=leaving)
    first = PresenceWatch.objects.get(agent=leaving)
    chat.presence_heartbeat(agent=leaving)
    assert PresenceWatch.objects.get(agent=leaving).due_at == first.due_at
