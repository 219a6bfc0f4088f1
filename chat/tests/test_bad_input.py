"""Every kind of bad frame gets a documented error frame or close code, and no
message is stored for it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings

from accounts.tests.factories import BuyerFactory
from chat import protocol
from chat.models import ChatEntry, ChatSession
from chat.tests.conftest import CLOSED_MOMENT, Socket, client_id, run, session_cookie, start_frame

pytestmark = pytest.mark.django_db(transaction=True)


async def started() -> tuple[Socket, dict]:
    customer = Socket("/ws/chat/")
    await customer.open()
    await customer.send(start_frame())
    return customer, await customer.until("welcome")


def test_malformed_json_and_unknown_types_get_error_frames_and_the_socket_stays_open(
    clock, online_agent
):
    online_agent()

    async def scenario():
        customer, _ = await started()
        await customer.send_text("{not json")
        bad_json = await customer.until("error")
        await customer.send_text("[1, 2]")
        not_object = await customer.until("error")
        await customer.send({"type": "teleport", "client_id": "abcdefgh1"})
        unknown = await customer.until("error")
        await customer.send({"type": "message", "client_id": "x", "text": "hi"})
        bad_id = await customer.until("error")
        await customer.send({"type": "message", "client_id": client_id(), "text": "   "})
        empty = await customer.until("error")
        await customer.send({"type": "ping"})
        pong = await customer.until("pong")
        await customer.close()
        return bad_json, not_object, unknown, bad_id, empty, pong

    bad_json, not_object, unknown, bad_id, empty, pong = run(scenario)
    assert bad_json["code"] == "invalid_json"
    assert not_object["code"] == "invalid_frame"
    assert unknown["code"] == "unknown_type" and unknown["ref"] == "abcdefgh1"
    assert bad_id["code"] == "invalid_frame" and bad_id["field"] == "client_id"
    assert empty["code"] == "invalid_frame" and empty["field"] == "text"
    assert pong == {"type": "pong"}
    # Only the opening message and the system's request for the order number.
    assert list(ChatEntry.objects.values_list("sender", flat=True)) == ["customer", "system"]


def test_a_frame_over_the_size_limit_closes_the_socket_with_1009(clock, online_agent):
    online_agent()

    async def scenario():
        customer, _ = await started()
        huge = "x" * (protocol.MAX_FRAME_BYTES + 1)
        await customer.send({"type": "message", "client_id": client_id(), "text": huge})
        error = await customer.until("error")
        code = await customer.closed_with()
        return error, code

    error, code = run(scenario)
    assert error["code"] == "frame_too_large"
    assert code == protocol.CLOSE_MESSAGE_TOO_BIG
    assert list(ChatEntry.objects.values_list("sender", flat=True)) == ["customer", "system"]


def test_a_flood_of_frames_is_refused_then_the_socket_is_closed(clock, online_agent):
    online_agent()

    async def scenario():
        customer, _ = await started()
        total = protocol.RATE_BURST + protocol.RATE_STRIKES_BEFORE_CLOSE + 20
        for _ in range(total):
            await customer.send({"type": "typing", "state": True})
        errors = 0
        while True:
            frame = await customer.recv()
            if frame["type"] == "__closed__":
                return errors, frame["code"]
            if frame["type"] == "error":
                assert frame["code"] == "rate_limited"
                errors += 1

    errors, code = run(scenario)
    assert errors >= protocol.RATE_STRIKES_BEFORE_CLOSE
    assert code == protocol.CLOSE_TOO_MANY_FRAMES


def test_frames_before_start_are_refused(clock):
    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send({"type": "message", "client_id": client_id(), "text": "hi"})
        error = await customer.until("error")
        await customer.close()
        return error

    assert run(scenario)["code"] == "not_started"


def test_a_customer_cannot_reach_someone_elses_conversation(clock, online_agent):
    online_agent()

    async def scenario():
        mine, _ = await started()
        other = Socket("/ws/chat/")
        await other.open()
        await other.send(start_frame(email="someone@example.com"))
        theirs = await other.until("welcome")
        await mine.send(
            {
                "type": "message",
                "session": theirs["session"],
                "client_id": client_id(),
                "text": "let me in",
            }
        )
        error = await mine.until("error")
        code = await mine.closed_with()
        await other.close()
        return error, code

    error, code = run(scenario)
    assert error["code"] == "forbidden" and code == protocol.CLOSE_FORBIDDEN
    assert not ChatEntry.objects.filter(text="let me in").exists()


def test_forged_and_expired_resume_tokens_close_the_socket(clock, online_agent):
    online_agent()

    async def scenario():
        _, welcome = await started()
        results = []
        forged = welcome["token"][:-3] + "abc"
        for token in (forged, "not-a-token"):
            socket = Socket("/ws/chat/")
            await socket.open()
            await socket.send({"type": "resume", "token": token, "last_seq": 0})
            results.append((await socket.until("error"), await socket.closed_with()))
        return welcome, results

    welcome, results = run(scenario)
    for error, code in results:
        assert error["code"] == "token_invalid" and code == protocol.CLOSE_UNAUTHENTICATED

    # Expired: with a maximum age below zero every genuine token is past it.
    async def expired():
        socket = Socket("/ws/chat/")
        await socket.open()
        await socket.send({"type": "resume", "token": welcome["token"], "last_seq": 0})
        return await socket.until("error"), await socket.closed_with()

    with override_settings(IZONIE_CHAT_TOKEN_MAX_AGE_SECONDS=-1):
        error, code = run(expired)
    assert error["code"] == "token_expired" and code == protocol.CLOSE_UNAUTHENTICATED


def test_the_agent_socket_needs_a_support_team_login(clock):
    buyer_cookie = session_cookie(BuyerFactory())

    async def scenario():
        results = []
        for cookie in (None, buyer_cookie):
            socket = Socket("/ws/console/chat/", cookie=cookie)
            await socket.open()
            results.append((await socket.until("error"), await socket.closed_with()))
        return results

    for error, code in run(scenario):
        assert error["code"] == "unauthenticated" and code == protocol.CLOSE_UNAUTHENTICATED


def test_outside_business_hours_a_start_is_refused_with_the_next_opening(clock, online_agent):
    online_agent()
    clock(CLOSED_MOMENT)

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        error = await customer.until("error")
        await customer.close()
        return error

    error = run(scenario)
    assert error["code"] == "chat_closed"
    # Monday 21:30 in Lagos: the next opening is Tuesday 08:00 Lagos time (07:00 UTC).
    assert dt.datetime.fromisoformat(error["next_open_at"]) == dt.datetime(
        2026, 11, 24, 7, 0, tzinfo=dt.UTC
    )
    assert ChatSession.objects.count() == 0


def test_with_nobody_online_a_start_is_refused_as_no_agents(clock):
    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        return await customer.until("error")

    assert run(scenario)["code"] == "no_agents"


def test_an_invalid_start_names_the_field(clock, online_agent):
    online_agent()

    async def scenario():
        results = {}
        for field, frame in {
            "email": start_frame(email="not-an-address"),
            "category": start_frame(category="astrology"),
            "order_number": start_frame(order_number="12345"),
        }.items():
            socket = Socket("/ws/chat/")
            await socket.open()
            await socket.send(frame)
            results[field] = await socket.until("error")
            await socket.close()
        return results

    for field, error in run(scenario).items():
        assert error["field"] == field, error
    assert ChatSession.objects.count() == 0
    assert json.dumps(error)  # frames are plain JSON


def test_end_sent_twice_is_answered_not_a_1011(clock, online_agent):
    # Found by test_consumer_fuzz: the second "end" read session.customer in the event
    # loop, where it was no longer loaded; the handler raised and the socket closed 1011.
    online_agent()

    async def scenario():
        customer, _ = await started()
        await customer.send({"type": "end"})
        await customer.send({"type": "end"})
        await customer.send({"type": "ping"})
        frames = []
        while True:
            frame = await customer.recv()
            frames.append(frame)
            if frame["type"] in ("pong", "__closed__"):
                break
        await customer.close()
        return frames

    frames = run(scenario)
    assert frames[-1] == {"type": "pong"}, frames
