"""Screening on every channel, the reminder, repeat blocks and lifting them, ending a
conversation for conduct, and where a blocked customer is told."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail as django_mail
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from chat.services import ticket_end_for_conduct
from chat.tests.conftest import Socket, run, session_cookie, start_frame
from conduct import services
from conduct.exceptions import ConductBlocked
from conduct.models import ConductBlock, ConductFlag
from mail.intake import ingest_raw
from mail.models import InboundStatus
from mail.tests.test_intake import mail
from notifications.models import Notification
from policy.loader import get_policy
from tickets import services as tickets
from tickets.choices import Channel, Direction, EventKind, TicketStatus
from tickets.exceptions import TicketClosed
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ABUSE = "You are all fucking useless idiots"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def system_replies(ticket: Ticket) -> list[str]:
    return list(
        ticket.messages.filter(direction=Direction.OUTBOUND, author__isnull=True)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
    )


def conduct_events(ticket: Ticket, action: str) -> list[dict]:
    return [
        event.data
        for event in ticket.events.filter(kind=EventKind.CONDUCT_VIOLATION).order_by("id")
        if event.data["action"] == action
    ]


def open_ticket(customer, body=ABUSE, channel=Channel.EMAIL, category="technical_support"):
    return tickets.ticket_open(requester=customer, channel=channel, body=body, category=category)


def test_a_first_violation_is_flagged_reminded_and_recorded():
    agent = AgentFactory()
    ticket = open_ticket(BuyerFactory())
    ticket.assignee = agent
    ticket.save()
    flag = ConductFlag.objects.get()
    assert flag.ticket == ticket and flag.channel == Channel.EMAIL
    assert flag.severity == "medium" and {"fuck", "idiot"} <= set(flag.labels)
    assert get_policy().conduct.reminder in system_replies(ticket)
    [event] = conduct_events(ticket, "flagged")
    assert event["message_id"] == flag.message_id and event["reminded"] is True
    assert event["severity"] == "medium"


def test_the_reminder_is_sent_once_per_conversation():
    buyer = BuyerFactory()
    ticket = open_ticket(buyer)
    tickets.ticket_customer_message(ticket=ticket, author=buyer, body="fuck off, moron")
    assert ConductFlag.objects.filter(ticket=ticket).count() == 2
    reminders = [b for b in system_replies(ticket) if b == get_policy().conduct.reminder]
    assert len(reminders) == 1
    assert [e["reminded"] for e in conduct_events(ticket, "flagged")] == [True, False]


def test_an_angry_but_civil_customer_is_not_flagged_or_reminded():
    ticket = open_ticket(BuyerFactory(), body="This is the third time I ask, I am furious!")
    assert not ConductFlag.objects.exists()
    assert get_policy().conduct.reminder not in system_replies(ticket)
    assert not ticket.events.filter(kind=EventKind.CONDUCT_VIOLATION).exists()


def test_agents_are_notified_of_a_flag():
    agent = AgentFactory(teams=["customer_care"])
    open_ticket(BuyerFactory(), category="returns")
    assert Notification.objects.filter(recipient=agent, kind="conduct").exists()


def test_repeated_violations_block_new_sessions_on_that_channel_only():
    buyer = BuyerFactory()
    repeat = get_policy().conduct.repeat
    ticket = open_ticket(buyer)
    for _ in range(repeat.violations - 1):
        tickets.ticket_customer_message(ticket=ticket, author=buyer, body="shut up you moron")
    block = ConductBlock.objects.get()
    assert block.channel == Channel.EMAIL and block.violations == repeat.violations
    assert block.ends_at - block.starts_at == repeat.block_for.timedelta
    [blocked] = conduct_events(ticket, "blocked")
    assert blocked["block_id"] == block.pk and blocked["until"] == block.ends_at.isoformat()
    with pytest.raises(ConductBlocked) as refused:
        open_ticket(buyer, body="Hello again")
    assert refused.value.code == "conduct_blocked"
    assert "paused until" in refused.value.message and "WAT" in refused.value.message
    assert Ticket.objects.count() == 1  # nothing half-created
    # Another channel, and the existing conversation, still work.
    open_ticket(buyer, body="Hello from the form", channel=Channel.WEB_FORM)
    tickets.ticket_customer_message(ticket=ticket, author=buyer, body="Any news?")


def test_a_block_ends_by_itself_and_can_be_lifted_by_a_supervisor():
    buyer = BuyerFactory()
    block = ConductBlock.objects.create(
        customer=buyer,
        channel=Channel.EMAIL,
        ticket=open_ticket(buyer, body="hello"),
        violations=3,
        ends_at=timezone.now() + dt.timedelta(hours=1),
    )
    with pytest.raises(ConductBlocked):
        open_ticket(buyer, body="hello")
    with pytest.raises(Exception, match="Only supervisors"):
        services.block_lift(block=block, actor=AgentFactory())
    supervisor = SupervisorFactory()
    assert services.block_lift(block=block, actor=supervisor, reason="Apologised by phone")
    assert not services.block_lift(block=block, actor=supervisor)  # already lifted
    open_ticket(buyer, body="hello")
    [lifted] = conduct_events(block.ticket, "block_lifted")
    assert lifted["reason"] == "Apologised by phone"
    ConductBlock.objects.create(
        customer=buyer,
        channel=Channel.EMAIL,
        violations=3,
        starts_at=timezone.now() - dt.timedelta(days=2),
        ends_at=timezone.now() - dt.timedelta(days=1),
    )
    open_ticket(buyer, body="hello")  # an expired block refuses nothing


def test_dismissed_flags_do_not_count_towards_a_block():
    buyer, agent = BuyerFactory(), AgentFactory()
    ticket = open_ticket(buyer)
    services.flag_dismiss(flag=ConductFlag.objects.get(), actor=agent)
    for _ in range(get_policy().conduct.repeat.violations - 1):
        tickets.ticket_customer_message(ticket=ticket, author=buyer, body="you idiot")
    assert not ConductBlock.objects.exists()
    assert conduct_events(ticket, "dismissed")[0]["message_id"]


def test_end_for_conduct_closes_any_ticket_with_the_reason_sent_to_the_customer():
    agent = AgentFactory()
    buyer = BuyerFactory()
    ticket = open_ticket(buyer)
    with pytest.raises(Exception, match="reason is required"):
        ticket_end_for_conduct(ticket=ticket, actor=agent, reason="  ")
    ticket_end_for_conduct(ticket=ticket, actor=agent, reason="Repeated insults.")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    last = system_replies(ticket)[-1]
    assert "Repeated insults." in last and get_policy().conduct.termination in last
    terminated = ticket.events.get(kind=EventKind.TERMINATED)
    assert terminated.actor == agent
    assert terminated.data == {"channel": Channel.EMAIL, "reason": "Repeated insults."}
    with pytest.raises(TicketClosed):
        tickets.ticket_customer_message(ticket=ticket, author=buyer, body="hello?")
    with pytest.raises(Exception, match="already closed"):
        ticket_end_for_conduct(ticket=ticket, actor=agent, reason="again")


# --- Where a blocked customer is told


def _block(customer, channel):
    return ConductBlock.objects.create(
        customer=customer,
        channel=channel,
        violations=3,
        ends_at=timezone.now() + dt.timedelta(hours=5),
    )


def test_the_contact_form_shows_the_block():
    buyer = BuyerFactory()
    _block(buyer, Channel.WEB_FORM)
    response = signed_in(buyer).post(
        "/contact", {"category": "technical_support", "subject": "Hi", "body": "App crashes"}
    )
    assert response.status_code == 400
    assert "paused until" in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_api_answers_a_problem_with_the_block_code():
    buyer = BuyerFactory()
    _block(buyer, Channel.API)
    token = ApiToken.objects.create(user=buyer, name="app")
    response = Client().post(
        "/api/v1/tickets",
        {"category": "technical_support", "body": "App crashes", "subject": "Crash"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token.key}",
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "conduct_blocked"
    assert "paused until" in response.json()["detail"]


def test_a_blocked_email_sender_is_recorded_and_told_once(django_capture_on_commit_callbacks):
    buyer = BuyerFactory(email="angry@example.com")
    _block(buyer, Channel.EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        first = ingest_raw(raw=mail(sender="angry@example.com", message_id="<a1@example.com>"))
        second = ingest_raw(raw=mail(sender="angry@example.com", message_id="<a2@example.com>"))
    assert first.status == second.status == InboundStatus.IGNORED
    assert "blocked for conduct" in first.reason
    assert not Ticket.objects.exists()
    notices = [m for m in django_mail.outbox if m.to == ["angry@example.com"]]
    assert len(notices) == 1 and "paused until" in notices[0].body


@pytest.mark.django_db(transaction=True)
def test_a_blocked_customer_cannot_start_a_chat(clock, online_agent):
    # Signed in: the block is the account's. (A visitor who only types the address is an
    # unverified contact of its own, never the account: docs/security/identity.md.)
    online_agent()
    buyer = BuyerFactory(email="ada@example.com")
    _block(buyer, Channel.LIVE_CHAT)
    cookie = session_cookie(buyer)

    async def scenario():
        customer = Socket("/ws/chat/", cookie=cookie)
        await customer.open()
        await customer.send(start_frame(email="ada@example.com"))
        error = await customer.until("error")
        await customer.close()
        return error

    error = run(scenario)
    assert error["code"] == "conduct_blocked" and "paused until" in error["detail"]
    assert not Ticket.objects.exists()


def test_in_a_live_chat_the_reminder_joins_the_chat_and_the_flag_is_on_the_message(
    clock, online_agent, run_tasks, django_capture_on_commit_callbacks
):
    from chat import services as chat
    from chat.models import ChatEntry

    online_agent()
    with django_capture_on_commit_callbacks(execute=True):
        session, _created = chat.chat_start(
            request=chat.StartRequest(
                name="Ada Obi",
                email="ada@example.com",
                category="order_status",
                text="Where is my order?",
                client_id="start-0001",
            )
        )
        entry, _ = chat.chat_customer_message(
            session=session, client_id="msg-00000001", text="answer me you sh1tty b!tch"
        )
    run_tasks()
    flag = ConductFlag.objects.get()
    assert flag.message_id == entry.message_id and flag.channel == Channel.LIVE_CHAT
    reminder = ChatEntry.objects.filter(session=session, sender="system").last()
    assert reminder is not None and reminder.text == get_policy().conduct.reminder
    assert reminder.seq > entry.seq


@pytest.mark.parametrize(
    "channel",
    [
        Channel.EMAIL,
        Channel.WEB_FORM,
        Channel.API,
        Channel.FACEBOOK,
        Channel.INSTAGRAM,
        Channel.TIKTOK,
    ],
)
def test_every_channel_is_screened_on_open_and_on_later_messages(channel):
    buyer = BuyerFactory()
    ticket = tickets.ticket_open(
        requester=buyer, channel=channel, body="hello", category="payments"
    )
    tickets.ticket_customer_message(ticket=ticket, author=buyer, body="screw you, w h o r e")
    flag = ConductFlag.objects.get()
    assert flag.channel == channel and flag.severity == "high"


@pytest.mark.django_db(transaction=True)
def test_agents_watching_a_chat_get_the_flag_and_the_customer_does_not(clock, online_agent):
    from chat.tests.conftest import client_id, session_cookie

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
        await staff.until("history", session=welcome["session"])
        await customer.send({"type": "message", "client_id": client_id(), "text": "f*ck you"})
        # The ack and the customer's own copy of the entry may come in either order
        # (docs/chat-protocol.md promises no order between them).
        mine: dict[str, dict] = {}
        while len(mine) < 2:
            frame = await customer.recv()
            if frame["type"] in ("ack", "message"):
                mine.setdefault(frame["type"], frame)
        ack = mine["ack"]
        assert mine["message"]["seq"] == ack["seq"]
        hint = await staff.until("conduct_flag")
        customer_got_more = not await customer.nothing_more()
        await customer.close()
        await staff.close()
        return ack, hint, customer_got_more

    ack, hint, customer_got_more = run(scenario)
    assert hint["message_seq"] == ack["seq"] and hint["severity"] == "medium"
    assert "fuck" in hint["labels"]
    assert customer_got_more is False  # the flag is for agents only
