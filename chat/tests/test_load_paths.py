"""What keeps a busy chat process honest: a console's frame that waits does not hold
up its other chats, retries stay idempotent without a look-up first, sequence numbers
stay gap-free when writers race, and a message costs the chat two statements."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from chat import services
from chat.consumers import AgentChatConsumer
from chat.models import ChatEntry, EntryKind, SessionState
from chat.services import ChatUnavailable
from chat.tests.conftest import Socket, client_id, run, session_cookie, start_frame
from tickets.models import OutboundMessage


def _start(email: str = "ada@example.com", *, assign: bool = True) -> services.ChatSession:
    session, _created = services.chat_start(
        request=services.StartRequest(
            name="Ada Obi",
            email=email,
            category="order_status",
            text="Where is my order?",
            client_id=client_id(),
        ),
        assign=assign,
    )
    return session


def _accepted(agent, email: str = "ada@example.com") -> services.ChatSession:
    session = _start(email)
    services.chat_accept(session=session, agent=agent)
    got = services.chat_get(session.public_id)
    assert got is not None and got.state == SessionState.ACTIVE
    return got


@pytest.mark.django_db(transaction=True)
def test_a_console_frame_that_waits_holds_up_only_its_own_chat(clock, online_agent, monkeypatch):
    agent = online_agent(max_chats=5)
    cookie = session_cookie(agent)
    gate: dict[str, asyncio.Event] = {}
    real_accept = AgentChatConsumer.on_accept

    async def slow_accept(self, frame):
        # The accept of this one chat is slow (its database work queued behind others).
        await gate["open"].wait()
        await real_accept(self, frame)

    async def scenario():
        gate["open"] = asyncio.Event()
        first, second = Socket("/ws/chat/"), Socket("/ws/chat/")
        await first.open()
        await second.open()
        await first.send(start_frame(email="one@example.com"))
        slow_id = (await first.until("welcome"))["session"]
        await second.send(start_frame(email="two@example.com"))
        quick_id = (await second.until("welcome"))["session"]
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.send({"type": "accept", "session": quick_id})
        await staff.until("history", session=quick_id)

        monkeypatch.setattr(AgentChatConsumer, "on_accept", slow_accept)
        await staff.send({"type": "accept", "session": slow_id})
        held_reply = client_id()
        await staff.send(
            {"type": "message", "session": slow_id, "client_id": held_reply, "text": "Hello"}
        )
        # Meanwhile the console works its other chat and hears from its customer.
        await staff.send({"type": "typing", "session": quick_id, "state": True})
        typing = await second.until("typing")
        await second.send({"type": "message", "client_id": client_id(), "text": "Any news?"})
        relayed = await staff.until("message", session=quick_id, sender="customer")
        await staff.send(
            {"type": "message", "session": quick_id, "client_id": client_id(), "text": "Yes"}
        )
        quick_ack = await staff.until("ack", session=quick_id)
        await staff.send({"type": "ping"})
        await staff.until("pong")

        gate["open"].set()
        # The held chat's frames run in the order they came: accept, then the message.
        after = []
        while len(after) < 2:
            frame = await staff.recv()
            if frame.get("session") == slow_id and frame["type"] in ("history", "ack", "error"):
                after.append(frame)
        for socket in (first, second, staff):
            await socket.close()
        return typing, relayed, quick_ack, after, held_reply

    typing, relayed, quick_ack, after, held_reply = run(scenario)
    assert typing["sender"] == "agent" and typing["state"] is True
    assert relayed["text"] == "Any news?"
    # Each chat: 1 the start, 2 the request for the order number, 3 the agent joining.
    assert quick_ack["seq"] == 5
    assert [f["type"] for f in after] == ["history", "ack"]
    assert after[1]["client_id"] == held_reply and after[1]["seq"] == 4


@pytest.mark.django_db
def test_a_message_retried_after_the_chat_ended_gets_its_first_acknowledgement(clock, online_agent):
    agent = online_agent()
    session = _accepted(agent)
    customer_id, agent_id = client_id(), client_id()
    said, _ = services.chat_customer_message(session=session, client_id=customer_id, text="Hi")
    answered, _ = services.chat_agent_message(
        session=session, agent=agent, client_id=agent_id, text="Hello"
    )
    services.chat_end(session=session, by=agent)

    again, created = services.chat_customer_message(
        session=session, client_id=customer_id, text="Hi"
    )
    reply_again, reply_created = services.chat_agent_message(
        session=session, agent=agent, client_id=agent_id, text="Hello"
    )

    assert (again.pk, again.seq, created) == (said.pk, said.seq, False)
    assert (reply_again.pk, reply_again.seq, reply_created) == (answered.pk, answered.seq, False)
    with pytest.raises(services.ChatEnded):
        services.chat_customer_message(session=session, client_id=client_id(), text="Hello?")
    # Nothing was numbered for the refused or repeated frames.
    seqs = list(ChatEntry.objects.filter(session=session).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.django_db
def test_an_agent_retry_while_the_chat_is_still_open_is_stored_once(clock, online_agent):
    agent = online_agent()
    session = _accepted(agent)
    frame_id = client_id()
    first, created = services.chat_agent_message(
        session=session, agent=agent, client_id=frame_id, text="On it"
    )
    second, created_again = services.chat_agent_message(
        session=session, agent=agent, client_id=frame_id, text="On it"
    )
    assert created and not created_again and first.pk == second.pk
    assert session.ticket.messages.filter(body_text="On it").count() == 1
    assert ChatEntry.objects.get(session=session, seq=first.seq).client_id == frame_id


@pytest.mark.django_db
def test_a_message_costs_the_chat_one_locking_update_and_one_insert(clock, online_agent):
    agent = online_agent()
    session = _accepted(agent)
    services.chat_customer_message(session=session, client_id=client_id(), text="Hi")
    services.chat_agent_message(session=session, agent=agent, client_id=client_id(), text="Hi")

    for send in (
        lambda: services.chat_customer_message(
            session=session, client_id=client_id(), text="Still there?"
        ),
        lambda: services.chat_agent_message(
            session=session, agent=agent, client_id=client_id(), text="Yes"
        ),
    ):
        with CaptureQueriesContext(connection) as captured:
            send()
        chat_statements = [q["sql"] for q in captured if '"chat_' in q["sql"]]
        # The row lock, the sequence number and the state in one UPDATE … RETURNING,
        # then the entry: no read before, no re-read after.
        assert len(chat_statements) == 2, chat_statements
        assert chat_statements[0].startswith('UPDATE "chat_chatsession"')
        assert chat_statements[1].startswith('INSERT INTO "chat_chatentry"')


def _statements(sql: list[str], start: str) -> list[str]:
    return [q for q in sql if q.lstrip().upper().startswith(start)]


@pytest.mark.django_db(transaction=True)
def test_a_lone_start_and_lone_messages_are_one_transaction_without_savepoints(clock, online_agent):
    """A chat start or message arriving alone fails as a whole: one transaction, no
    savepoint inside it; the start files under the visitor's contact without a
    transaction of its own and links its first entry without reading its message back."""
    agent = online_agent()
    captures = []
    for _visit in ("new", "back"):
        with CaptureQueriesContext(connection) as captured:
            # As the socket starts a chat: the offer to an agent comes after the answer.
            session = _start(assign=False)
        sql = [q["sql"] for q in captured]
        captures.append(sql)
        assert len(_statements(sql, "BEGIN")) == 1, sql
        assert not [q for q in _statements(sql, "SELECT") if '"tickets_message"' in q], sql
        # The system's request for the order number joins the stream in the same
        # transaction: no outbox row, no delivery task for a worker to run later.
        assert not [q for q in sql if '"tickets_outboundmessage"' in q], sql
        assert not [q for q in sql if "deliver_outbound" in q], sql
    new, back = captures
    assert len([q for q in new if q.startswith('INSERT INTO "accounts_user"')]) == 1, new
    # Ada came back: her contact was read, not made again; and the team's rotation row
    # the first start made (with a savepoint of its own) exists now.
    assert not [q for q in back if q.startswith('INSERT INTO "accounts_user"')], back
    assert not _statements(back, "SAVEPOINT"), "\n".join(q[:90] for q in back)
    assert session.customer.email == "ada@example.com"
    assert session.customer.unverified_contact
    services.chat_accept(session=session, agent=agent)
    session = services.chat_get(session.public_id)
    for send in (
        lambda: services.chat_customer_message(session=session, client_id=client_id(), text="Hi"),
        lambda: services.chat_agent_message(
            session=session, agent=agent, client_id=client_id(), text="Hello"
        ),
    ):
        with CaptureQueriesContext(connection) as captured:
            send()
        sql = [q["sql"] for q in captured]
        assert len(_statements(sql, "BEGIN")) == 1 and not _statements(sql, "SAVEPOINT"), sql
    entries = ChatEntry.objects.filter(session=session).order_by("seq")
    said = [e for e in entries if e.kind == EntryKind.MESSAGE and e.sender != "system"]
    assert [e.text for e in said] == ["Where is my order?", "Hi", "Hello"]
    first = said[0]
    assert first.seq == 1
    assert first.message is not None and first.message.body_text == "Where is my order?"
    assert first.message.direction == "in"
    asked = entries[1]
    assert (asked.seq, asked.sender, asked.kind) == (2, "system", EntryKind.MESSAGE)
    assert asked.message is not None and asked.message.direction == "out"
    assert asked.text == asked.message.body_text and "order number" in asked.text
    assert not OutboundMessage.objects.filter(message=asked.message).exists()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_starts_counts_the_agents_online_once_and_a_refusal_is_never_stale(
    clock, online_agent
):
    def counts(sql: list[str]) -> int:
        return len([q for q in sql if "COUNT(" in q and '"chat_agentpresence"' in q])

    # Nobody online: each start asks again, and is refused.
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured, pytest.raises(ChatUnavailable):
            _start(assign=False)
        assert counts([q["sql"] for q in captured]) == 1
    agent = online_agent()
    with CaptureQueriesContext(connection) as captured:
        opened = [_start(assign=False) for _ in range(3)]
    assert len({s.pk for s in opened}) == 3
    assert counts([q["sql"] for q in captured]) == 1
    # The agent leaves from this process: the next start knows at once.
    services.presence_set(agent=agent, status="offline")
    with pytest.raises(ChatUnavailable) as refused:
        _start(assign=False)
    assert refused.value.code == "no_agents"


@pytest.mark.django_db(transaction=True)
def test_racing_writers_get_gap_free_ordered_sequence_numbers(clock, online_agent):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    agent = online_agent()
    session = _accepted(agent)
    errors: list[BaseException] = []

    def write(sender: str) -> None:
        try:
            for _ in range(5):
                if sender == "customer":
                    services.chat_customer_message(
                        session=session, client_id=client_id(), text="ping"
                    )
                else:
                    services.chat_agent_message(
                        session=session, agent=agent, client_id=client_id(), text="pong"
                    )
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(s,)) for s in ("customer", "agent") * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    entries = list(ChatEntry.objects.filter(session=session).order_by("seq"))
    seqs = [e.seq for e in entries]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len([e for e in entries if e.text in ("ping", "pong")]) == 20
    session.refresh_from_db()
    assert session.last_seq == seqs[-1]


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_failure_of_a_frame_closes_the_socket_for_a_resume(
    clock, online_agent, monkeypatch
):
    online_agent()

    def broken(items):
        raise OperationalError("the database went away")

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        await customer.until("welcome")
        monkeypatch.setattr(services, "chat_messages_store", broken)
        await customer.send({"type": "message", "client_id": client_id(), "text": "Hello?"})
        return await customer.closed_with()

    # Not left waiting for an ack: the client resumes and resends what was not acknowledged.
    assert run(scenario) == 1011
