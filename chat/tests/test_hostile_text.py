"""A live-chat message built to make the old conduct patterns backtrack is answered
well under a second (it took 14 s at 2,001 characters, under the write lock)."""

from __future__ import annotations

import time

from chat import services
from chat.tests.conftest import client_id


def test_a_backtracking_5000_character_chat_message_is_stored_fast(clock, online_agent):
    online_agent()
    session, _created = services.chat_start(
        request=services.StartRequest(
            name="Ada Obi",
            email="ada@example.com",
            category="order_status",
            text="Where is my order?",
            client_id=client_id(),
        )
    )
    text = "a" * 2_500 + "s" * 2_499 + "x"
    assert len(text) == services.MAX_TEXT_CHARS
    started = time.process_time()
    entry, created = services.chat_customer_message(
        session=session, client_id=client_id(), text=text
    )
    elapsed = time.process_time() - started
    assert created and entry.text == text
    assert elapsed < 1.0, elapsed
