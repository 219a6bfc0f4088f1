"""Offers that are not taken up: the chat goes back to the queue for someone else."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.models import ChatSession, Presence, SessionState
from chat.tests.conftest import Socket, run, session_cookie, start_frame

pytestmark = pytest.mark.django_db(transaction=True)


async def _open_chat() -> str:
    customer = Socket("/ws/chat/")
    await customer.open()
    await customer.send(start_frame())
    welcome = await customer.until("welcome")
    # The socket offers the chat after answering the start: wait for that offer (every
    # test here has an agent online to take it).
    waiting = database_sync_to_async(
        lambda: ChatSession.objects.filter(
            public_id=welcome["session"], state=SessionState.WAITING
        ).exists()
    )
    for _ in range(300):
        if not await waiting():
            break
        await asyncio.sleep(0.1)
    await customer.close()
    return welcome["session"]


def test_an_offer_not_accepted_in_time_goes_to_another_agent(
    clock, online_agent, settings, run_tasks
):
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 0  # the timer is due at once
    first = online_agent(max_chats=5)
    session_id = run(_open_chat)
    session = ChatSession.objects.get(public_id=session_id)
    assert session.state == SessionState.ASSIGNED
    first_offered = session.agent
    second = online_agent(max_chats=5)
    cookie = session_cookie(first_offered)
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 3600  # the re-offer's timer is not due

    async def scenario():
        console = Socket("/ws/console/chat/", cookie=cookie)
        await console.open()
        await console.until("queue")
        from channels.db import database_sync_to_async

        ran = await database_sync_to_async(run_tasks)()
        withdrawn = await console.until("offer_withdrawn", session=session_id)
        await console.close()
        return ran, withdrawn

    ran, withdrawn = run(scenario)
    assert ran >= 1
    assert withdrawn["reason"] == "timeout"
    session.refresh_from_db()
    other = second if first_offered == first else first
    assert session.state == SessionState.ASSIGNED
    assert session.agent == other
    assert session.passed_agent_ids == [first_offered.pk]


def test_the_timer_of_an_accepted_offer_changes_nothing(clock, online_agent, settings, run_tasks):
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 0
    agent = online_agent(max_chats=5)
    session_id = run(_open_chat)
    session = ChatSession.objects.get(public_id=session_id)
    services.chat_accept(session=session, agent=agent)
    run_tasks()
    session.refresh_from_db()
    assert session.state == SessionState.ACTIVE and session.agent == agent
    assert session.passed_agent_ids == []


def test_a_lapsed_offer_comes_back_to_the_only_agent_there_is(
    clock, online_agent, settings, run_tasks
):
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 0
    agent = online_agent(max_chats=5)
    session_id = run(_open_chat)
    first_offer = ChatSession.objects.get(public_id=session_id).assigned_at
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 3600  # the re-offer's timer is not due
    run_tasks()
    session = ChatSession.objects.get(public_id=session_id)
    assert session.state == SessionState.ASSIGNED and session.agent == agent
    assert session.assigned_at is not None and session.assigned_at > first_offer


def test_an_agent_going_away_hands_back_the_offers_made_to_them(clock, online_agent, settings):
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 3600
    leaving = online_agent(max_chats=5)
    session_id = run(_open_chat)
    assert ChatSession.objects.get(public_id=session_id).agent == leaving
    staying = online_agent(max_chats=5)

    services.presence_set(agent=leaving, status=Presence.AWAY)

    session = ChatSession.objects.get(public_id=session_id)
    assert session.state == SessionState.ASSIGNED and session.agent == staying
    assert session.passed_agent_ids == [leaving.pk]


def test_an_accepted_chat_stays_when_its_agent_goes_away(clock, online_agent):
    agent = online_agent(max_chats=5)
    session_id = run(_open_chat)
    session = ChatSession.objects.get(public_id=session_id)
    services.chat_accept(session=session, agent=agent)
    online_agent(max_chats=5)

    services.presence_set(agent=agent, status=Presence.OFFLINE)

    session.refresh_from_db()
    assert session.state == SessionState.ACTIVE and session.agent == agent


def test_housekeeping_offers_a_chat_its_process_stopped_before_offering(
    clock, online_agent, settings
):
    """A start answered, then the process stopped before its round of offers: the
    worker's housekeeping offers the chat; and an offer whose timer was lost is taken
    back and offered again."""
    from core.housekeeping import worker_housekeeping

    agent = online_agent(max_chats=5)
    session, created = services.chat_start(
        request=services.StartRequest(
            name="Ada Obi",
            email="ada@example.com",
            category="order_status",
            text="Where is my order?",
            client_id="start-before-a-crash",
        ),
        assign=False,  # as the socket answers it; the round of offers never came
    )
    assert created
    settings.IZONIE_CHAT_REOFFER_SECONDS = 3600
    assert services.chat_offers_sweep() == 0  # younger than the grace: left to its round
    session.refresh_from_db()
    assert session.state == SessionState.WAITING

    settings.IZONIE_CHAT_REOFFER_SECONDS = 0
    worker_housekeeping(worker_id="test-worker").tick()
    session.refresh_from_db()
    assert session.state == SessionState.ASSIGNED and session.agent_id == agent.pk

    # The offer's timer task was lost: once the offer is overdue, it is taken back and
    # offered again (to the same agent, the only one online).
    settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = 0
    first_offer = session.assigned_at
    assert services.chat_offers_sweep() == 1
    session.refresh_from_db()
    assert session.state == SessionState.ASSIGNED and session.assigned_at > first_offer
    assert session.passed_agent_ids == [agent.pk]


def test_a_new_chat_rereads_only_the_offered_agents_own_list(clock, online_agent, monkeypatch):
    """A rush of new chats sends every console the queue; only the agent each chat is
    offered to gets their own chats read again (at 200 agents, re-reading every agent's
    list once a second took most of the web processes' time)."""
    from chat import consumers

    monkeypatch.setattr(consumers, "QUEUE_SNAPSHOT_DELAY_SECONDS", 0.05)
    offered_to = online_agent(max_chats=5)
    full = online_agent(max_chats=0)  # online, no room: never offered anything
    cookies = session_cookie(offered_to), session_cookie(full)

    async def scenario():
        first = Socket("/ws/console/chat/", cookie=cookies[0])
        other = Socket("/ws/console/chat/", cookie=cookies[1])
        for console in (first, other):
            await console.open()
            assert (await console.until("queue"))["mine"] == []
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        session = (await customer.until("welcome"))["session"]
        await first.until("offer", session=session)
        # The offered agent's desk: the chat in their own list, offered.
        mine = (await first.until("queue"))["mine"]
        # Everyone else's: the shared queue shows the chat taken; their own list is kept.
        shared = await other.until("queue_waiting")
        await customer.close()
        await first.close()
        await other.close()
        return session, mine, shared

    session, mine, shared = run(scenario)
    assert [(s["session"], s["state"]) for s in mine] == [(session, "assigned")]
    assert "mine" not in shared and "presence" not in shared
    assert [(s["session"], s["agent"]) for s in shared["waiting"]] == [(session, str(offered_to))]
    assert {a["id"] for a in shared["agents"]} == {offered_to.pk, full.pk}


def test_the_shared_queue_is_encoded_once_for_every_console(clock, online_agent, monkeypatch):
    """Every console of a process is sent the same ``queue_waiting`` text: it is written
    once per read of the queue (70 KB at 100 waiting chats and 150 agents), and it is the
    frame the selector builds."""
    import json

    from chat import selectors

    online_agent(max_chats=3)
    selectors.forget_shared_queue()
    encoded: list[object] = []
    real_dumps = json.dumps

    def counting_dumps(value, **kwargs):
        encoded.append(value)
        return real_dumps(value, **kwargs)

    monkeypatch.setattr(selectors.json, "dumps", counting_dumps)
    texts = [selectors.shared_queue_text() for _ in range(5)]
    assert len(encoded) == 1 and all(text is texts[0] for text in texts)
    assert json.loads(texts[0]) == selectors.shared_queue_frame()
    assert json.loads(texts[0])["agents_online"] == 1
