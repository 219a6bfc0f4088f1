"""The chat protocol end to end over the real ASGI stack: a customer socket and an
agent socket, messages both ways, acknowledgements, resume, idempotent retries."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import ChatEntry, ChatSession, SessionState
from chat.tests.conftest import Socket, client_id, run, session_cookie, start_frame
from tickets.choices import Channel, Direction, EventKind
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_and_agent_talk_both_ways(clock, online_agent):
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        customer = Socket("/ws/chat/")
        await customer.open()
        first = start_frame(text="My phone order IZ hasn't arrived")
        await customer.send(first)
        ack = await customer.until("ack")
        assert ack == {"type": "ack", "client_id": first["client_id"], "seq": 1}
        welcome = await customer.until("welcome")
        assert welcome["token"] and welcome["state"] in ("waiting", "assigned")
        opening = await customer.until("message", seq=1)
        assert opening["text"] == "My phone order IZ hasn't arrived"
        # The number given is not an order number: the system asks for it at once.
        asked = await customer.until("message", seq=2)
        assert asked["sender"] == "system" and "order number" in asked["text"]
        session_id = welcome["session"]

        offer = await staff.until("offer")
        assert offer["session"] == session_id
        await staff.send({"type": "accept", "session": session_id})
        joined = await customer.until("agent_joined")
        assert joined["seq"] == 3 and joined["agent"] == (agent.display_name or str(agent))
        history = await staff.until("history", session=session_id)
        assert [e["seq"] for e in history["entries"]] == [1, 2, 3]

        await customer.send({"type": "typing", "state": True})
        typing = await staff.until("typing")
        assert typing == {
            "type": "typing",
            "session": session_id,
            "sender": "customer",
            "state": True,
        }

        reply_id = client_id()
        await staff.send(
            {"type": "message", "session": session_id, "client_id": reply_id, "text": "On it!"}
        )
        staff_ack = await staff.until("ack")
        assert staff_ack["seq"] == 4
        reply = await customer.until("message", seq=4)
        assert reply["sender"] == "agent" and reply["text"] == "On it!"

        await customer.send({"type": "read", "seq": 4})
        read = await staff.until("read")
        assert read == {"type": "read", "by": "customer", "seq": 4}
        await customer.close()
        await staff.close()
        return session_id

    session_id = run(scenario)
    session = ChatSession.objects.get(public_id=session_id)
    assert session.state == SessionState.ACTIVE and session.agent == agent
    assert session.customer_read_seq == 4
    ticket = session.ticket
    assert ticket.channel == Channel.LIVE_CHAT and ticket.assignee == agent
    assert ticket.first_replied_at is not None
    inbound = ticket.messages.filter(direction=Direction.INBOUND).values_list(
        "body_text", flat=True
    )
    assert list(inbound) == ["My phone order IZ hasn't arrived"]
    # Triage asked for the missing order number; the agent's reply is the other one.
    assert ticket.messages.filter(direction=Direction.OUTBOUND, author=agent).get().body_text == (
        "On it!"
    )
    # The live-chat first-reply clock stopped when the agent answered.
    assert ticket.sla_clocks.filter(target_id="live_chat_first_reply", stopped_at__isnull=False)


def test_a_retried_message_is_stored_once_with_its_first_sequence_number(clock, online_agent):
    online_agent()

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        await customer.until("welcome")
        frame = {"type": "message", "client_id": client_id(), "text": "Order IZ-10000001"}
        await customer.send(frame)
        first = await customer.until("ack")
        await customer.send(frame)
        second = await customer.until("ack")
        await customer.close()
        return first, second

    first, second = run(scenario)
    assert first["seq"] == second["seq"] == 3  # after the request for the order number
    assert "duplicate" not in first and second["duplicate"] is True
    assert Message.objects.filter(body_text="Order IZ-10000001").count() == 1
    assert ChatEntry.objects.filter(text="Order IZ-10000001").count() == 1


def test_a_retried_start_returns_the_same_chat(clock, online_agent):
    online_agent()
    start = start_frame()

    async def scenario():
        sessions = []
        for _ in range(2):
            customer = Socket("/ws/chat/")
            await customer.open()
            await customer.send(start)
            sessions.append((await customer.until("welcome"))["session"])
            await customer.close()
        return sessions

    first, second = run(scenario)
    assert first == second
    assert ChatSession.objects.count() == 1


def test_resume_replays_only_what_the_client_missed(clock, online_agent):
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        welcome = await customer.until("welcome")
        await customer.until("message", seq=1)
        await customer.until("message", seq=2)  # the request for the order number
        await customer.close()  # the phone goes into a tunnel

        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.send({"type": "accept", "session": welcome["session"]})
        await staff.until("history")
        for text in ("Hello Ada", "Let me check that order"):
            await staff.send(
                {
                    "type": "message",
                    "session": welcome["session"],
                    "client_id": client_id(),
                    "text": text,
                }
            )
            await staff.until("ack")

        again = Socket("/ws/chat/")
        await again.open()
        await again.send({"type": "resume", "token": welcome["token"], "last_seq": 2})
        resumed = await again.until("welcome")
        replay = [await again.recv() for _ in range(3)]
        assert await again.nothing_more()
        await again.close()
        await staff.close()
        return resumed, replay

    resumed, replay = run(scenario)
    assert resumed["last_seq"] == 5 and resumed["agent"]
    assert [(f["seq"], f["type"]) for f in replay] == [
        (3, "agent_joined"),
        (4, "message"),
        (5, "message"),
    ]
    assert [f.get("text") for f in replay[1:]] == ["Hello Ada", "Let me check that order"]


def test_ending_for_conduct_shows_the_reason_and_records_it(clock, online_agent):
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        welcome = await customer.until("welcome")
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.send({"type": "accept", "session": welcome["session"]})
        await customer.until("agent_joined")
        await staff.send({"type": "terminate", "session": welcome["session"], "reason": ""})
        refused = await staff.until("error")
        reason = "Abusive language after a warning."
        await staff.send({"type": "terminate", "session": welcome["session"], "reason": reason})
        ended = await customer.until("ended")
        await customer.send({"type": "message", "client_id": client_id(), "text": "hello?"})
        after = await customer.until("error")
        await customer.send({"type": "rate", "score": 2, "comment": "Not happy"})
        rated = await customer.until("rated")
        await customer.close()
        await staff.close()
        return refused, ended, after, rated, welcome["session"]

    refused, ended, after, rated, session_id = run(scenario)
    assert refused["code"] == "invalid_frame" and refused["field"] == "reason"
    assert ended["reason"] == "Abusive language after a warning." and ended["for_conduct"]
    assert after["code"] == "chat_ended"
    assert rated["score"] == 2
    session = ChatSession.objects.get(public_id=session_id)
    assert session.ended_for_conduct and session.ended_by == agent
    event = session.ticket.events.get(kind=EventKind.TERMINATED)
    assert event.data["reason"] == "Abusive language after a warning."
    assert session.ticket.events.filter(kind=EventKind.RATED, data__score=2).exists()


def test_transfer_to_another_agent_offers_the_chat_to_them(clock, online_agent):
    first, second = online_agent(), online_agent()
    first_cookie, second_cookie = session_cookie(first), session_cookie(second)

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        welcome = await customer.until("welcome")
        session_id = welcome["session"]
        one = Socket("/ws/console/chat/", cookie=first_cookie)
        two = Socket("/ws/console/chat/", cookie=second_cookie)
        await one.open()
        await two.open()
        await one.send({"type": "accept", "session": session_id})
        await customer.until("agent_joined")
        await one.send({"type": "transfer", "session": session_id, "to_agent": second.pk})
        left = await customer.until("agent_left")
        offer = await two.until("offer", session=session_id)
        await two.send({"type": "accept", "session": session_id})
        joined = await customer.until("agent_joined")
        for socket in (customer, one, two):
            await socket.close()
        return left, offer, joined

    left, offer, joined = run(scenario)
    assert offer["type"] == "offer"
    assert left["transferred"] is True
    assert joined["agent"] == (second.display_name or str(second))
    assert ChatSession.objects.get().agent == second


def test_least_loaded_agent_with_the_skill_gets_the_chat(clock, online_agent):
    busy = online_agent(max_chats=5)
    idle = online_agent(max_chats=5)
    seller_only = online_agent(max_chats=5, skills=["seller_support"])

    async def open_chat(**overrides):
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame(**overrides))
        await customer.until("welcome")
        await customer.close()

    async def scenario():
        await open_chat(email="one@example.com")
        await open_chat(email="two@example.com")
        await open_chat(email="three@example.com")
        # The socket offers the chats after answering the start: wait for the offers.
        waiting = database_sync_to_async(
            lambda: ChatSession.objects.filter(state=SessionState.WAITING).exists()
        )
        for _ in range(300):
            if not await waiting():
                break
            await asyncio.sleep(0.1)

    run(scenario)
    loads = {
        agent.pk: ChatSession.objects.filter(agent=agent).count()
        for agent in (busy, idle, seller_only)
    }
    # Order Status chats never go to the seller-support specialist; the two others share.
    assert loads[seller_only.pk] == 0
    assert sorted([loads[busy.pk], loads[idle.pk]]) == [1, 2]
