"""Reassignment when an agent's shift ends (not when chats go offline) or is over capacity."""

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
from workload import services, shifts
from workload.models import PresenceWatch, Reason, Reassignment, Shift, ShiftEnd

pytestmark = pytest.mark.django_db


def _online(*agents):
    """Online for chats and on shift for tickets, as an agent at the console is."""
    for agent in agents:
        chat.presence_set(agent=agent, status=Presence.ONLINE)
        shifts.shift_seen(agent_id=agent.pk, start=True)


def _waiting_ticket(agent, *, body="The app crashes at checkout.", channel=Channel.WEB_FORM):
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=channel, category="technical_support", body=body
    )
    return tickets.ticket_update(ticket=ticket, actor=agent, assignee=agent)


@pytest.fixture
def team():
    # Technical Support assigns to the least loaded agent (capacity 25).
    leaving = AgentFactory(username="ada", display_name="Ada Obi", teams=["technical"])
    staying = AgentFactory(username="tunde", display_name="Tunde Bello", teams=["technical"])
    return leaving, staying


def test_going_offline_for_chats_keeps_the_tickets(
    team, run_tasks, django_capture_on_commit_callbacks
):
    leaving, staying = team
    _online(leaving, staying)
    waiting = [_waiting_ticket(leaving, channel=c) for c in (Channel.EMAIL, Channel.WEB_FORM)]

    with django_capture_on_commit_callbacks(execute=True):
        chat.presence_set(agent=leaving, status=Presence.OFFLINE)
    run_tasks()

    assert Ticket.objects.filter(assignee=leaving).count() == 2
    assert not Reassignment.objects.exists()
    assert {t.pk for t in waiting} == {t.pk for t in Ticket.objects.filter(assignee=leaving)}


def test_ending_the_shift_moves_waiting_tickets_to_a_colleague_on_shift(team, client):
    leaving, staying = team
    _online(leaving, staying)
    waiting = _waiting_ticket(leaving)
    answered = _waiting_ticket(leaving)
    tickets.ticket_reply(ticket=answered, author=leaving, body="It ships today.")
    on_hold_chat = _waiting_ticket(leaving, channel=Channel.LIVE_CHAT)

    shifts.shift_end(agent=leaving, reason=ShiftEnd.ENDED)

    waiting.refresh_from_db()
    assert waiting.assignee == staying
    event = waiting.events.filter(kind=EventKind.ASSIGNED).order_by("-pk").first()
    assert event.actor is None
    assert event.data == {
        "old": leaving.pk,
        "new": staying.pk,
        "reason": "shift_ended",
        "rule": "reassignment",
    }
    # an answered ticket waits on the customer, and chats follow the chat queue
    answered.refresh_from_db()
    on_hold_chat.refresh_from_db()
    assert answered.assignee == leaving and on_hold_chat.assignee == leaving
    assert list(Reassignment.objects.values_list("ticket_id", "reason")) == [
        (waiting.pk, Reason.SHIFT_ENDED)
    ]
    # the ticket's history says truthfully what happened and which rule did it
    client.force_login(staying)
    page = client.get(reverse("console:ticket", args=[waiting.pk])).content.decode()
    assert (
        "Reassigned from Ada Obi to Tunde Bello by the reassignment rule (agent ended the shift)"
        in page
    )


def test_with_nobody_on_shift_the_ticket_goes_back_to_the_team_queue(team, client):
    leaving, staying = team
    _online(leaving)
    ticket = _waiting_ticket(leaving)
    shifts.shift_end(agent=leaving, reason=ShiftEnd.SIGNED_OUT)
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.team == "technical"
    assert Reassignment.objects.get().to_agent is None
    client.force_login(staying)
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert (
        "Unassigned from Ada Obi by the reassignment rule (agent signed out); "
        "back in the Technical Support queue" in page
    )


def test_a_lost_heartbeat_leaves_the_tickets_to_the_absence_limit(
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
    # a timer task for a moment the watch no longer holds (superseded) does nothing
    assert services.presence_check(agent_id=leaving.pk, expected_due="2000-01-01") == ("superseded")

    # the laptop closes: the chat desk loses the heartbeat, the tickets stay for now
    AgentPresence.objects.filter(agent=leaving).update(
        last_seen_at=timezone.now() - timeout - dt.timedelta(seconds=10)
    )
    due = PresenceWatch.objects.get(agent=leaving).due_at.isoformat()
    assert services.presence_check(agent_id=leaving.pk, expected_due=due) == "lost"
    ticket.refresh_from_db()
    assert ticket.assignee == leaving and not Reassignment.objects.exists()

    # the absence check fires while the agent was seen recently: re-armed, nothing moves
    shift = Shift.objects.get(agent=leaving, ended_at__isnull=True)
    assert shifts.shift_absence_check(
        shift_id=shift.pk, expected_due=shift.check_due_at.isoformat()
    ) == ("present")
    # gone longer than the policy's 30 minutes: the shift ends and the ticket moves
    Shift.objects.filter(pk=shift.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=31))
    shift.refresh_from_db()
    assert shifts.shift_absence_check(shift_id=shift.pk, expected_due="2000-01-01") == (
        "superseded"
    )
    assert shifts.shift_absence_check(
        shift_id=shift.pk, expected_due=shift.check_due_at.isoformat()
    ) == ("absent")
    ticket.refresh_from_db()
    assert ticket.assignee == staying
    assert Reassignment.objects.get().reason == Reason.ABSENT
    shift.refresh_from_db()
    assert shift.end_reason == ShiftEnd.ABSENT and shift.ended_at is not None


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
    shifts.shift_end(agent=leaving, reason=ShiftEnd.ENDED)

    # the console shows the move and its reason
    supervisor = SupervisorFactory()
    client.force_login(supervisor)
    page = client.get(reverse("console:workload")).content.decode()
    assert ticket.reference in page and "Agent ended the shift" in page

    # the supervisor gives it back to the first agent and pins it there
    response = client.post(
        reverse("console:workload_override", args=[ticket.pk]), {"agent": leaving.pk}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == leaving
    services.tickets_reassign_from(agent=leaving, reason=Reason.ABSENT)
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


def test_an_agent_still_on_shift_keeps_the_tickets(team):
    leaving, staying = team
    _online(leaving, staying)
    ticket = _waiting_ticket(leaving)
    assert services.tickets_reassign_from(agent=leaving, reason=Reason.ABSENT) == []
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
