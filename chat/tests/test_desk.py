"""The agents' desk, server side: the queue snapshot's per-chat columns (unread,
preview, markers, order) at a constant number of queries, the activity frame for a
chat that is not open, transfers only to agents with room, the visitor panel."""

from __future__ import annotations

import pytest

from accounts.tests.factories import AgentFactory
from chat import selectors, services
from chat.models import AgentPresence, ChatSession, Presence, Sender
from chat.tests.conftest import Socket, client_id, run, session_cookie, start_frame

pytestmark = pytest.mark.django_db


def open_chat(n: int, **extra) -> ChatSession:
    request = services.StartRequest(
        name=f"Customer {n}",
        email=f"c{n}@example.com",
        category="returns",
        text=f"First message {n}",
        client_id=f"desk-start-{n:04d}",
        **extra,
    )
    session, _ = services.chat_start(request=request)
    return session


def accepted(agent, n: int, **extra) -> ChatSession:
    session = open_chat(n, **extra)
    services.chat_accept(session=session, agent=agent)
    return ChatSession.objects.select_related("ticket", "customer").get(pk=session.pk)


def test_snapshot_costs_the_same_queries_for_one_chat_or_many(
    clock, online_agent, django_assert_max_num_queries
):
    agent = online_agent(max_chats=10)
    accepted(agent, 1)
    selectors.forget_shared_queue()
    with django_assert_max_num_queries(4) as one:
        selectors.agent_snapshot(agent)
    for n in range(2, 8):
        session = accepted(agent, n)
        services.chat_customer_message(session=session, client_id=client_id(), text="hello")
    for n in range(8, 12):
        open_chat(n)  # waiting: the agent is full... or offered; either way listed
    selectors.forget_shared_queue()
    with django_assert_max_num_queries(len(one.captured_queries)):
        snap = selectors.agent_snapshot(agent)
    assert len(snap["mine"]) + len(snap["waiting"]) >= 11


def test_an_online_agents_snapshot_reads_no_presence_of_its_own_and_sees_a_change_at_once(
    online_agent, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = online_agent(max_chats=7)
    selectors.forget_shared_queue()
    selectors.agent_snapshot(agent)  # reads the shared queue, as the first console does
    with CaptureQueriesContext(connection) as captured:
        snap = selectors.agent_snapshot(agent)
    assert (snap["presence"], snap["max_chats"]) == ("online", 7)
    assert not [q for q in captured.captured_queries if "agentpresence" in q["sql"]]

    # Going away in this process shows in the very next snapshot, not after the copy's
    # lifetime.
    with django_capture_on_commit_callbacks(execute=True):
        services.presence_set(agent=agent, status=Presence.AWAY)
    snap = selectors.agent_snapshot(agent)
    assert (snap["presence"], snap["max_chats"]) == ("away", 7)
    assert agent.pk not in {a["id"] for a in snap["agents"]}


def test_snapshot_lists_unread_preview_markers_newest_first(clock, online_agent):
    agent = online_agent(max_chats=5)
    older, newer = accepted(agent, 1), accepted(agent, 2)
    services.chat_customer_message(session=newer, client_id=client_id(), text="Newer one")
    services.chat_customer_message(session=older, client_id=client_id(), text="Any news?")
    services.chat_customer_message(session=older, client_id=client_id(), text="Hello??")
    services.chat_escalate(session=older, reason="Nobody answers")
    mine = selectors.agent_snapshot(agent)["mine"]
    assert [s["name"] for s in mine] == ["Customer 1", "Customer 2"]
    first = mine[0]
    # The opening message and two more, none read by the agent yet.
    assert first["unread"] == 3 and first["last_text"] == "Hello??"
    assert first["last_sender"] == "customer" and first["escalated"] is True
    assert mine[1]["escalated"] is False and mine[1]["unread"] == 2
    services.chat_mark(session=older, by=Sender.AGENT, read_seq=older.last_seq + 10)
    selectors.forget_shared_queue()
    assert selectors.agent_snapshot(agent)["mine"][0]["unread"] == 0


def test_transfer_only_to_an_agent_online_with_room(clock, online_agent):
    full = online_agent(max_chats=1)
    accepted(full, 1)
    agent = online_agent(max_chats=5)
    offline = AgentFactory()
    AgentPresence.objects.create(agent=offline, status=Presence.OFFLINE)
    session = accepted(agent, 2)
    for target, message in ((full, "no room"), (offline, "not online")):
        with pytest.raises(services.InvalidFrame, match=message):
            services.chat_transfer(session=session, by=agent, to_agent=target)
    names = {a["name"]: a for a in selectors.agent_snapshot(agent)["agents"]}
    assert str(offline) not in names
    assert names[full.display_name or str(full)]["load"] == 1


def test_handover_note_reaches_the_next_agent_not_the_customer(clock, online_agent):
    first, second = online_agent(), online_agent()
    session = accepted(first, 1)
    services.chat_transfer(
        session=session, by=first, to_agent=second, note="Refund approved; needs the label"
    )
    offered = selectors.agent_snapshot(second)["mine"][0]
    assert offered["handover"] == {
        "by": first.display_name or str(first),
        "note": "Refund approved; needs the label",
    }
    frames = selectors.entry_frames_after(session, 0)
    assert "Refund approved" not in str(frames)
    assert session.ticket.messages.filter(kind="note", body_text__contains="Refund approved")


def test_visitor_panel_shows_context_and_hides_history_of_an_unproven_address(
    client, clock, online_agent
):
    agent = online_agent()
    session = accepted(
        agent,
        1,
        page_url="https://izonie.example/p/x12?ref=ad",
        referrer="javascript:alert(1)",
        user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    )
    client.force_login(agent)
    html = client.get(f"/console/chat/sessions/{session.public_id}/visitor").content.decode()
    assert "c1@example.com" in html and "Guest · email not verified" in html
    assert "https://izonie.example/p/x12?ref=ad" in html
    assert "javascript:" not in html  # only http(s) addresses are kept
    assert "Phone · Chrome · Android" in html
    assert "Not shown until the customer proves the address." in html


def test_a_customer_message_tells_the_handling_agent_even_if_not_open(
    transactional_db, clock, online_agent
):
    agent = online_agent()
    cookie = session_cookie(agent)

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        customer = Socket("/ws/chat/")
        await customer.open()
        await customer.send(start_frame())
        welcome = await customer.until("welcome")
        await staff.send({"type": "accept", "session": welcome["session"]})
        await customer.until("agent_joined")
        # The desk looks at another chat: it no longer watches this one.
        await staff.send({"type": "unwatch", "session": welcome["session"]})
        await customer.send({"type": "message", "client_id": client_id(), "text": "Still there?"})
        activity = await staff.until("activity")
        await customer.close()
        await staff.close()
        return welcome["session"], activity

    session_id, activity = run(scenario)
    assert activity["session"] == session_id
    assert activity["sender"] == "customer" and activity["preview"] == "Still there?"


def test_device_label_reads_common_browsers():
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604"
    assert selectors.device_label(iphone) == "Phone · Safari · iOS"
    assert selectors.device_label("") == ""
    assert selectors.device_label("x" * 10_000).startswith("Computer")


def test_slash_commands_offer_the_console_macros_filled_for_the_chat(client, clock, online_agent):
    from accounts.tests.factories import SupervisorFactory
    from macros.services import macro_save

    agent = online_agent()
    agent.display_name = "Ada Agent"
    agent.save(update_fields=["display_name"])
    session = accepted(agent, 1, order_number="IZ-20461187")
    macro_save(
        user=SupervisorFactory(),
        shared=True,
        title="Refund on its way",
        body="Hello {{ customer.first_name }}, the refund for {{ order.number }} is on its way. "
        "{{ agent.first_name }}",
    )
    macro_save(user=agent, shared=False, title="My sign-off", shortcut="bye", body="Bye!")
    macro_save(user=AgentFactory(), shared=False, title="Someone else's", body="Not yours")
    client.force_login(agent)

    rows = client.get(f"/console/chat/sessions/{session.public_id}/macros").json()["macros"]

    by_shortcut = {row["shortcut"]: row for row in rows}
    assert set(by_shortcut) == {"refund-on-its-way", "bye"}
    assert by_shortcut["refund-on-its-way"]["body"] == (
        "Hello Customer, the refund for IZ-20461187 is on its way. Ada"
    )
    assert by_shortcut["bye"]["shared"] is False


def test_a_macro_sent_from_the_desk_counts_as_used_once(client, clock, online_agent):
    from macros.models import Macro
    from macros.services import macro_save

    agent = online_agent()
    mine = macro_save(user=agent, shared=False, title="Bye", body="Bye!")
    theirs = macro_save(user=AgentFactory(), shared=False, title="Theirs", body="No")
    client.force_login(agent)

    assert client.post(f"/console/chat/macros/{mine.pk}/used").status_code == 200
    assert client.post(f"/console/chat/macros/{theirs.pk}/used").status_code == 404
    assert Macro.objects.get(pk=mine.pk).uses == 1
    assert Macro.objects.get(pk=theirs.pk).uses == 0
