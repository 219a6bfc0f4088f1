"""Hypothesis against the customer chat socket: arbitrary JSON, non-JSON text, binary,
huge frames and the known frame types with fields of the wrong type, through the real
ASGI application (channels' WebsocketCommunicator).

What must hold: every frame is answered with an error frame, a normal answer, or a close
with a documented code; never 1011 (a handler's unexpected exception) and never an
ERROR logged; another customer's chat carries on; a message retried with the same client
id is stored once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chat import protocol
from chat.consumers import CustomerChatConsumer
from chat.models import ChatEntry
from chat.tests.conftest import Socket, client_id, run, start_frame
from core.tests.fuzz import fuzz_settings

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTED_CLOSES = {
    protocol.CLOSE_MESSAGE_TOO_BIG,
    protocol.CLOSE_UNAUTHENTICATED,
    protocol.CLOSE_FORBIDDEN,
    protocol.CLOSE_TOKEN_EXPIRED,
    protocol.CLOSE_TOO_MANY_FRAMES,
    protocol.CLOSE_NOT_STARTED,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
known_types = st.sampled_from(sorted(CustomerChatConsumer.handlers))
field_names = st.sampled_from(
    ["client_id", "text", "seq", "last_seq", "score", "comment", "email", "name", "category",
     "session", "token", "order_number", "up_to", "attachments"]
)  # fmt: skip
frames = st.one_of(
    # A known type with fields of any type.
    st.builds(
        lambda kind, fields: json.dumps({"type": kind, **fields}),
        known_types,
        st.dictionaries(field_names, json_values | st.just("\x00"), max_size=4),
    ),
    json_values.map(json.dumps),
    st.text(min_size=1, max_size=50),
    st.binary(min_size=1, max_size=50),
    st.just('{"type": "message", "text": "' + "x" * protocol.MAX_FRAME_BYTES + '"}'),
)


async def _scenario(sent: list[str | bytes]) -> dict[str, Any]:
    bystander = Socket("/ws/chat/")
    await bystander.open()
    await bystander.send(start_frame(email="bystander@example.com"))
    await bystander.until("welcome")

    fuzzed = Socket("/ws/chat/")
    await fuzzed.open()
    await fuzzed.send(start_frame())
    await fuzzed.until("welcome")
    for frame in sent:
        if isinstance(frame, bytes):
            await fuzzed.comm.send_to(bytes_data=frame)
        else:
            await fuzzed.send_text(frame)
    await fuzzed.send({"type": "ping"})
    closed = None
    while True:  # frames are handled in arrival order: the pong comes after the rest
        answer = await fuzzed.recv(timeout=10)
        if answer["type"] == "__closed__":
            closed = answer["code"]
            break
        if answer["type"] == "pong":
            break
    if closed is None:
        await fuzzed.close()

    # The other chat carries on; its message retried with the same client id is one entry.
    retried = client_id()
    acks = []
    for _ in range(2):
        await bystander.send({"type": "message", "client_id": retried, "text": "Still there?"})
        acks.append(await bystander.until("ack", client_id=retried, timeout=10))
    await bystander.close()
    return {"closed": closed, "acks": acks, "retried": retried}


@given(sent=st.lists(frames, max_size=6))
@example(sent=['{"type": "message", "client_id": "abcdefgh1", "text": ["a"]}'])
@example(sent=['{"type": "rate", "score": "5"}', '{"type": "resume", "last_seq": "x"}'])
@settings(
    fuzz_settings(max_examples=25),
    # Each example opens two sockets and starts two chats (a ticket each).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_frames_get_answers_or_a_documented_close(clock, online_agent, caplog, settings, sent):
    # Every example starts two chats from one address: the start limits (tested in
    # chat/tests/test_throttle.py) would answer "throttled" after a few examples.
    settings.IZONIE_THROTTLE_CHAT_START_PER_IP = "0"
    settings.IZONIE_THROTTLE_CHAT_START_PER_ADDRESS = "0"
    online_agent()
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        result = run(_scenario, sent)
    assert result["closed"] in (None, *DOCUMENTED_CLOSES), result
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    first, second = result["acks"]
    assert first["seq"] == second["seq"]
    assert ChatEntry.objects.filter(client_id=result["retried"]).count() == 1
