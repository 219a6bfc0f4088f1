"""The agent socket checks the agent's right to a chat on every frame, and re-checks the
account while it stays open: deactivated, demoted or signed-out agents are closed."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from accounts.models import Role, User
from chat.consumers import AgentChatConsumer
from chat.models import AgentPresence, ChatSession, Presence
from chat.tests.conftest import Socket, run, session_cookie, start_frame

pytestmark = pytest.mark.django_db(transaction=True)


async def _chat_taken_by(staff: Socket) -> str:
    """A customer opens a chat and the agent on ``staff`` accepts it."""
    customer = Socket("/ws/chat/")
    await customer.open()
    await customer.send(start_frame())
    welcome = await customer.until("welcome")
    session_id = welcome["session"]
    await staff.until("offer", session=session_id)
    await staff.send({"type": "accept", "session": session_id})
    await staff.until("history", session=session_id)
    await customer.until("agent_joined")
    return session_id, customer


def test_typing_and_read_for_another_agents_chat_are_refused(clock, online_agent, settings):
    owner = online_agent()
    other = online_agent(max_chats=0)  # never offered the chat
    owner_cookie, other_cookie = session_cookie(owner), session_cookie(other)

    async def scenario():
        mine = Socket("/ws/console/chat/", cookie=owner_cookie)
        await mine.open()
        await mine.until("queue")
        session_id, customer = await _chat_taken_by(mine)
        intruder = Socket("/ws/console/chat/", cookie=other_cookie)
        await intruder.open()
        await intruder.until("queue")

        await intruder.send({"type": "typing", "session": session_id, "state": True})
        refused = await intruder.until("error")
        assert refused["code"] == "forbidden"
        await intruder.send({"type": "read", "session": session_id, "seq": 2})
        refused = await intruder.until("error")
        assert refused["code"] == "forbidden"
        # The customer saw neither; the owner's own typing still goes through.
        assert await customer.nothing_more()
        await mine.send({"type": "typing", "session": session_id, "state": True})
        typing = await customer.until("typing")
        assert typing["sender"] == "agent"
        await intruder.close()
        await mine.close()
        await customer.close()
        return session_id

    session_id = run(scenario)
    assert ChatSession.objects.get(public_id=session_id).agent_read_seq == 0


def test_a_supervisor_may_type_in_any_chat(clock, online_agent):
    owner = online_agent()
    boss = online_agent(max_chats=0)
    User.objects.filter(pk=boss.pk).update(role=Role.SUPERVISOR)
    owner_cookie, boss_cookie = session_cookie(owner), session_cookie(boss)

    async def scenario():
        mine = Socket("/ws/console/chat/", cookie=owner_cookie)
        await mine.open()
        await mine.until("queue")
        session_id, customer = await _chat_taken_by(mine)
        supervisor = Socket("/ws/console/chat/", cookie=boss_cookie)
        await supervisor.open()
        await supervisor.until("queue")
        await supervisor.send({"type": "typing", "session": session_id, "state": True})
        assert (await customer.until("typing"))["sender"] == "agent"
        for socket in (supervisor, mine, customer):
            await socket.close()

    run(scenario)


@pytest.mark.parametrize(
    ("change", "code"),
    [({"is_active": False}, "account_disabled"), ({"role": Role.BUYER}, "not_staff")],
)
def test_a_deactivated_or_demoted_agent_is_closed_within_the_check_interval(
    clock, online_agent, settings, change, code
):
    settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS = 0.5
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        await database_sync_to_async(User.objects.filter(pk=agent.pk).update)(**change)
        changed_at = time.monotonic()
        # No frame from the console: the timer alone closes it.
        error = await staff.until("error")
        closed = await staff.closed_with()
        return error, closed, time.monotonic() - changed_at

    error, closed, took = run(scenario)
    assert error["code"] == code and closed == 4401
    # The 0.5 s interval did it, not the 60 s default; the bound leaves a busy machine
    # room (the old bound, 1.5 s, was the interval and the check and nothing more).
    assert took < 10
    # Offline at once: no chat is offered to the account any more.
    assert AgentPresence.objects.get(agent=agent).status == Presence.OFFLINE


def test_a_frame_after_the_interval_rechecks_at_once(clock, online_agent, settings, monkeypatch):
    settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS = 0.2

    async def no_timer(self):
        return None

    # Without the timer, only the frame can notice the change.
    monkeypatch.setattr(AgentChatConsumer, "_recheck_periodically", no_timer)
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        await staff.send({"type": "ping"})
        assert (await staff.until("pong"))["type"] == "pong"
        await database_sync_to_async(User.objects.filter(pk=agent.pk).update)(is_active=False)
        await asyncio.sleep(0.25)  # past the interval
        await staff.send({"type": "presence", "status": "online"})
        error = await staff.until("error")
        return error, await staff.closed_with()

    error, closed = run(scenario)
    assert error["code"] == "account_disabled" and closed == 4401


def test_signing_out_closes_the_console_socket(clock, online_agent, settings):
    settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS = 0.5
    agent = online_agent()
    browser = Client()
    browser.force_login(agent)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        await database_sync_to_async(browser.post)("/accounts/logout/")
        error = await staff.until("error")
        return error, await staff.closed_with()

    error, closed = run(scenario)
    assert error["code"] == "signed_out" and closed == 4401


def test_a_session_without_its_second_factor_cannot_open_the_socket(clock, online_agent, settings):
    settings.IZONIE_STAFF_2FA_REQUIRED = True
    cookie = session_cookie(online_agent())

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        error = await staff.until("error")
        return error, await staff.closed_with()

    error, closed = run(scenario)
    assert error["code"] == "second_factor_required" and closed == 4401


def test_the_account_recheck_keeps_the_chats_the_socket_looked_up(
    clock, online_agent, settings, monkeypatch
):
    """A console's chats are looked up once: its periodic account check does not make
    every chat it works in cost a look-up again (as it did once a minute per console)."""
    from chat import services

    settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS = 0.2
    looked_up: list[str] = []
    real_chat_get = services.chat_get

    def counting_chat_get(public_id):
        looked_up.append(str(public_id))
        return real_chat_get(public_id)

    monkeypatch.setattr(services, "chat_get", counting_chat_get)
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        session_id, customer = await _chat_taken_by(staff)
        await asyncio.sleep(0.6)  # the account was checked again meanwhile
        await staff.send(
            {
                "type": "message",
                "session": session_id,
                "client_id": "agent-reply-1",
                "text": "Hello",
            }
        )
        ack = await staff.until("ack")
        reply = await customer.until("message")
        await staff.close()
        await customer.close()
        return session_id, ack, reply

    session_id, ack, reply = run(scenario)
    assert ack["client_id"] == "agent-reply-1" and reply["text"] == "Hello"
    assert looked_up == [session_id]


def test_consoles_that_connected_together_recheck_apart_within_the_interval():
    """After a restart every console reconnects in the same few seconds: a fixed wait kept
    their account checks in the same second of every minute ever after."""
    from chat.consumers import recheck_delay

    waits = [recheck_delay(60) for _ in range(500)]
    assert all(30 <= wait <= 60 for wait in waits)  # each check still within the interval
    assert max(waits) - min(waits) > 20  # and spread over it
    assert len({round(wait, 1) for wait in waits}) > 100
