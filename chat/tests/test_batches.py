"""The relay's batches: messages that arrive together are written together, a bad one
is set aside alone, statements do not grow with the batch, and an acknowledgement
follows the commit."""

from __future__ import annotations

import asyncio

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from chat import batching, protocol, services
from chat.models import ChatEntry, SessionState
from chat.services import MessageIn
from chat.tests.conftest import Socket, client_id, run, start_frame
from tickets.models import Message


def _accepted(agent, email: str) -> services.ChatSession:
    session, _created = services.chat_start(
        request=services.StartRequest(
            name="Ada Obi",
            email=email,
            category="order_status",
            text="Where is my order?",
            client_id=client_id(),
        )
    )
    services.chat_accept(session=session, agent=agent)
    got = services.chat_get(session.public_id)
    assert got is not None and got.state == SessionState.ACTIVE
    return got


def _gap_free(session: services.ChatSession) -> None:
    seqs = list(
        ChatEntry.objects.filter(session=session).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))
    session.refresh_from_db()
    assert session.last_seq == seqs[-1]


def _poison_entry_frames(monkeypatch, error: type[Exception], *, times: int = 1000) -> None:
    """Building the relayed frame of a message whose text is "poison" fails (a bug only
    this message reaches), inside the batch's transaction, after its rows are written."""
    real = protocol.entry_frame
    left = [times]

    def entry_frame(entry, **kwargs):
        if entry.text == "poison" and left[0] > 0:
            left[0] -= 1
            raise error("only this message reaches this bug")
        return real(entry, **kwargs)

    monkeypatch.setattr(protocol, "entry_frame", entry_frame)


@pytest.mark.django_db
def test_a_poisoned_message_is_set_aside_and_the_rest_of_its_batch_is_stored_once(
    clock, online_agent, monkeypatch
):
    agent = online_agent(max_chats=10)
    chats = [_accepted(agent, f"c{i}@example.com") for i in range(4)]
    services.chat_end(session=chats[3], by=agent)
    _poison_entry_frames(monkeypatch, RuntimeError)
    items = [
        MessageIn(session=chats[0], client_id=client_id(), text="first chat"),
        MessageIn(session=chats[1], client_id=client_id(), text="poison"),
        MessageIn(session=chats[1], client_id=client_id(), text="after it, same chat"),
        MessageIn(session=chats[2], client_id=client_id(), text="third chat"),
        MessageIn(session=chats[0], client_id=client_id(), text="an answer", agent=agent),
        MessageIn(session=chats[3], client_id=client_id(), text="to an ended chat"),
    ]
    outcomes = services.chat_messages_store(items)

    assert isinstance(outcomes[1].error, RuntimeError)
    assert isinstance(outcomes[5].error, services.ChatEnded)
    for index in (0, 2, 3, 4):
        entry, created = outcomes[index].unwrap()
        assert created and entry.text == items[index].text
    for item in items:
        stored = item.text not in ("poison", "to an ended chat")
        assert ChatEntry.objects.filter(client_id=item.client_id).count() == int(stored)
        assert Message.objects.filter(body_text=item.text).count() == int(stored)
    # The numbers taken for the poisoned and the refused message were given back.
    for chat in chats:
        _gap_free(chat)
    # (1 the start, 2 the request for the order number, 3 the agent joining)
    assert [e.text for e in ChatEntry.objects.filter(session=chats[0], seq__gt=3)] == [
        "first chat",
        "an answer",
    ]


@pytest.mark.django_db
def test_a_batch_retried_or_repeated_within_itself_stores_each_message_once(clock, online_agent):
    agent = online_agent(max_chats=10)
    chats = [_accepted(agent, f"c{i}@example.com") for i in range(2)]
    repeated = client_id()
    items = [
        MessageIn(session=chats[0], client_id=repeated, text="Hello"),
        MessageIn(session=chats[1], client_id=client_id(), text="Hi"),
        MessageIn(session=chats[0], client_id=repeated, text="Hello"),
    ]
    first = services.chat_messages_store(items)
    again = services.chat_messages_store(items)

    entry, created = first[0].unwrap()
    assert created
    assert first[2].unwrap() == (entry, False)
    assert [o.unwrap()[1] for o in again] == [False, False, False]
    assert [o.unwrap()[0].seq for o in again] == [o.unwrap()[0].seq for o in first]
    assert Message.objects.filter(body_text="Hello").count() == 1
    for chat in chats:
        _gap_free(chat)


@pytest.mark.django_db
def test_statements_per_batch_do_not_grow_with_its_size(clock, online_agent):
    agent = online_agent(max_chats=20)
    chats = [_accepted(agent, f"c{i}@example.com") for i in range(12)]

    def batch(sessions, text: str) -> int:
        items = [MessageIn(session=s, client_id=client_id(), text=text) for s in sessions]
        with CaptureQueriesContext(connection) as captured:
            outcomes = services.chat_messages_store(items)
        assert all(o.error is None for o in outcomes)
        return len(captured.captured_queries)

    batch(chats, "first")  # every chat's first message after the start
    two = batch(chats[:2], "second")
    ten = batch(chats[2:], "second")
    assert ten <= two, (two, ten)


@pytest.mark.django_db(transaction=True)
def test_messages_arriving_together_are_written_in_one_batch(clock, online_agent, monkeypatch):
    agent = online_agent(max_chats=10)
    chats = [_accepted(agent, f"c{i}@example.com") for i in range(5)]
    real = services.chat_messages_store
    sizes: list[int] = []

    def spy(items):
        sizes.append(len(items))
        return real(items)

    monkeypatch.setattr(services, "chat_messages_store", spy)

    async def scenario():
        return await asyncio.gather(
            *[
                batching.message_store(MessageIn(session=s, client_id=client_id(), text="Hi"))
                for s in chats
            ]
        )

    outcomes = run(scenario)
    assert sizes == [5]
    assert [o.unwrap()[1] for o in outcomes] == [True] * 5


@pytest.mark.django_db(transaction=True)
def test_a_poisoned_message_on_a_socket_gets_its_error_and_the_socket_stays(
    clock, online_agent, monkeypatch
):
    online_agent()
    _poison_entry_frames(monkeypatch, RuntimeError)

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        await customer.until("welcome")
        bad, good = client_id(), client_id()
        await customer.send({"type": "message", "client_id": bad, "text": "poison"})
        error = await customer.until("error")
        await customer.send({"type": "message", "client_id": good, "text": "Hello?"})
        ack = await customer.until("ack")
        await customer.close()
        return bad, error, good, ack

    bad, error, good, ack = run(scenario)
    assert error["code"] == "message_failed" and error["ref"] == bad
    assert "could not be stored" in error["detail"]
    # (after the start and the request for the order number)
    assert ack["client_id"] == good and ack["seq"] == 3
    assert not ChatEntry.objects.filter(client_id=bad).exists()


@pytest.mark.django_db(transaction=True)
def test_no_ack_before_the_commit_and_the_retry_is_stored_once(clock, online_agent, monkeypatch):
    online_agent()
    # The database fails once while the batch's rows are written, before its commit.
    _poison_entry_frames(monkeypatch, OperationalError, times=1)

    async def scenario():
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        welcome = await customer.until("welcome")
        retried = client_id()
        frame = {"type": "message", "client_id": retried, "text": "poison"}
        await customer.send(frame)
        before_close = []
        while True:
            got = await customer.recv()
            if got["type"] == "__closed__":
                code = got["code"]
                break
            before_close.append(got)
        # The client resumes and resends what was not acknowledged.
        again = Socket("/ws/chat/")
        await again.open()
        await again.send({"type": "resume", "token": welcome["token"], "last_seq": 1})
        await again.until("welcome")
        await again.send(frame)
        ack = await again.until("ack")
        await again.send(frame)
        repeat = await again.until("ack")
        await again.close()
        return code, before_close, retried, ack, repeat

    code, before_close, retried, ack, repeat = run(scenario)
    assert code == 1011
    assert not [f for f in before_close if f.get("client_id") == retried]
    assert ack["client_id"] == retried and ack["seq"] == 3 and "duplicate" not in ack
    assert repeat["seq"] == 3 and repeat["duplicate"] is True
    assert ChatEntry.objects.filter(client_id=retried).count() == 1
    assert Message.objects.filter(body_text="poison").count() == 1


# --- Agents' messages, a batch at a time


@pytest.mark.django_db
def test_agents_statements_per_batch_do_not_grow_with_its_size(clock, online_agent):
    agent = online_agent(max_chats=30)
    chats = [_accepted(agent, f"a{i}@example.com") for i in range(24)]

    def batch(sessions, text: str) -> int:
        items = [
            MessageIn(session=s, client_id=client_id(), text=text, agent=agent) for s in sessions
        ]
        with CaptureQueriesContext(connection) as captured:
            outcomes = services.chat_messages_store(items)
        assert all(o.error is None for o in outcomes), outcomes
        return len(captured.captured_queries)

    # The first answers stop the first-reply clocks, assign and open the tickets.
    first_two = batch(chats[:2], "first answer")
    first_ten = batch(chats[2:12], "first answer")
    assert first_ten <= first_two, (first_two, first_ten)
    two = batch(chats[:2], "second answer")
    ten = batch(chats[2:12], "second answer")
    assert ten <= two, (two, ten)
    # Customers' and agents' messages together: still flat.
    mixed = [
        MessageIn(session=s, client_id=client_id(), text="and?", agent=agent if i % 2 else None)
        for i, s in enumerate(chats[12:])
    ]
    # (Two of each kind: a lone one of a kind is written without a savepoint of its own.)
    with CaptureQueriesContext(connection) as captured:
        assert all(o.error is None for o in services.chat_messages_store(mixed[:4]))
    mixed_four = len(captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        assert all(o.error is None for o in services.chat_messages_store(mixed[4:]))
    assert len(captured.captured_queries) <= mixed_four + 1  # the moved-customer look-up
    for chat in chats[:12]:
        chat.ticket.refresh_from_db()
        assert chat.ticket.first_replied_at is not None
        assert chat.ticket.status == "open" and chat.ticket.assignee_id == agent.pk
        assert chat.ticket.first_reply_due_at is None
    for chat in chats:
        _gap_free(chat)


@pytest.mark.django_db
def test_a_poisoned_agent_message_is_set_aside_and_the_other_answers_are_stored_once(
    clock, online_agent, monkeypatch
):
    agent = online_agent(max_chats=10)
    chats = [_accepted(agent, f"p{i}@example.com") for i in range(3)]
    _poison_entry_frames(monkeypatch, RuntimeError)
    items = [
        MessageIn(session=chats[0], client_id=client_id(), text="first answer", agent=agent),
        MessageIn(session=chats[1], client_id=client_id(), text="poison", agent=agent),
        MessageIn(session=chats[2], client_id=client_id(), text="third answer", agent=agent),
        MessageIn(session=chats[1], client_id=client_id(), text="   ", agent=agent),
    ]
    outcomes = services.chat_messages_store(items)

    assert isinstance(outcomes[1].error, RuntimeError)
    assert outcomes[3].error is not None and "empty" in str(outcomes[3].error)
    for index in (0, 2):
        entry, created = outcomes[index].unwrap()
        assert created and entry.sender == "agent"
    assert Message.objects.filter(body_text="first answer", direction="out").count() == 1
    assert Message.objects.filter(body_text="third answer", direction="out").count() == 1
    assert not Message.objects.filter(body_text="poison").exists()
    for chat in chats:
        _gap_free(chat)
    chats[1].ticket.refresh_from_db()
    # The poisoned answer left no trace on its ticket: still waiting for a first reply.
    assert chats[1].ticket.first_replied_at is None


# --- Starts, a batch at a time


def _start(i: int, **overrides) -> services.StartIn:
    fields = {
        "name": f"Visitor {i}",
        "email": f"visitor{i}@example.com",
        "category": "order_status",
        "text": "Where is my order?",
        "client_id": client_id(),
    }
    fields.update(overrides)
    return services.StartIn(request=services.StartRequest(**fields))


@pytest.mark.django_db
def test_starts_per_batch_cost_the_same_statements_whatever_its_size(clock, online_agent):
    online_agent(max_chats=30)

    def batch(items) -> int:
        with CaptureQueriesContext(connection) as captured:
            outcomes = services.chat_starts(items)
        assert all(o.error is None and o.unwrap()[1] for o in outcomes), outcomes
        return len(captured.captured_queries)

    batch([_start(100), _start(101)])  # warm: the classifier, the teams
    two = batch([_start(i) for i in range(2)])
    ten = batch([_start(i) for i in range(2, 12)])
    assert ten <= two, (two, ten)
    sessions = services.ChatSession.objects.filter(state=SessionState.WAITING)
    assert sessions.count() == 14
    for session in sessions:
        # The start, then the request for the order number it lacked, in its stream.
        entries = [(e.seq, e.sender, e.text) for e in session.entries.order_by("seq")]
        assert entries[0] == (1, "customer", "Where is my order?")
        assert [(seq, sender) for seq, sender, _text in entries[1:]] == [(2, "system")]
        assert "order number" in entries[1][2]
        _gap_free(session)


@pytest.mark.django_db
def test_a_bad_or_poisoned_start_is_set_aside_and_a_retried_one_gets_its_chat(
    clock, online_agent, monkeypatch
):
    online_agent(max_chats=10)
    (earlier,) = services.chat_starts([_start(1)])
    earlier_session, _created = earlier.unwrap()
    retried = earlier_session.entries.get(seq=1).client_id
    _poison_entry_frames(monkeypatch, RuntimeError)
    repeated = client_id()
    items = [
        _start(2),
        _start(3, text="poison"),
        _start(4, email="not an address"),
        _start(1, client_id=retried),  # the earlier start, sent again
        _start(5, client_id=repeated),
        _start(5, client_id=repeated),  # twice in the batch
        _start(6, client_id=retried),  # someone else's client id
    ]
    outcomes = services.chat_starts(items)

    assert isinstance(outcomes[1].error, RuntimeError)
    assert outcomes[2].error is not None and outcomes[2].error.field == "email"
    assert outcomes[3].unwrap() == (earlier_session, False)
    session, created = outcomes[4].unwrap()
    assert created and outcomes[5].unwrap() == (session, False)
    assert isinstance(outcomes[6].error, services.InvalidFrame)
    assert outcomes[0].unwrap()[1] is True
    assert not Message.objects.filter(body_text="poison").exists()
    assert services.ChatSession.objects.count() == 3
    assert ChatEntry.objects.filter(client_id=repeated).count() == 1


@pytest.mark.django_db(transaction=True)
def test_starts_arriving_together_on_sockets_are_written_in_one_batch(
    clock, online_agent, monkeypatch
):
    online_agent(max_chats=10)
    real = services.chat_starts
    sizes: list[int] = []

    def spy(items):
        sizes.append(len(items))
        return real(items)

    monkeypatch.setattr(services, "chat_starts", spy)

    async def scenario():
        sockets = [Socket("/ws/chat/") for _ in range(4)]
        for socket in sockets:
            await socket.open()
        frames = [start_frame(email=f"s{i}@example.com") for i in range(4)]
        await asyncio.gather(*[s.send(f) for s, f in zip(sockets, frames, strict=True)])
        acks = [await s.until("ack") for s in sockets]
        welcomes = [await s.until("welcome") for s in sockets]
        for socket in sockets:
            await socket.close()
        return frames, acks, welcomes

    frames, acks, welcomes = run(scenario)
    assert sum(sizes) == 4 and len(sizes) < 4, sizes
    assert [a["client_id"] for a in acks] == [f["client_id"] for f in frames]
    assert len({w["session"] for w in welcomes}) == 4
