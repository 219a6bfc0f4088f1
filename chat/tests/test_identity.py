"""Chatting with someone else's address: over the real ASGI stack, the unverified
visitor gets none of the account's orders, the agent sees "Email not verified", and a
code emailed to the address (through a real SMTP server) links the chat mid-way."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory
from chat.models import ChatSession
from chat.tests.conftest import Socket, client_id, run, session_cookie, start_frame
from conftest import run_queued_tasks
from marketplace.tests.factories import OrderFactory
from tickets.choices import EventKind, RequesterIdentity
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def _code(inbox, address: str, nth: int = -1) -> str:
    match = re.search(r"Your code is (\d{6})\.", inbox.to(address)[nth].get_payload())
    assert match
    return match.group(1)


def test_chatting_with_a_customers_address_gives_nothing_of_theirs(clock, online_agent):
    # given: a customer with an order and an earlier request
    buyer = BuyerFactory(email="ada@example.com")
    order = OrderFactory(buyer=buyer, items=["Secret Phone 512 GB"])
    cookie = session_cookie(online_agent())

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        # when: a stranger starts a chat with the customer's address and order number
        visitor = Socket("/ws/chat/")
        await visitor.open()
        await visitor.send(
            start_frame(
                email="ADA@example.com",
                order_number=order.number,
                text=f"Where is {order.number}?",
            )
        )
        welcome = await visitor.until("welcome")
        offer = await staff.until("offer")
        snapshot = await staff.until("queue")
        await visitor.close()
        await staff.close()
        return welcome, offer, snapshot

    welcome, _offer, snapshot = run(scenario)
    # then: the chat is marked unverified for both sides
    assert welcome["verified"] is False
    [summary] = snapshot["mine"] + [s for s in snapshot["waiting"] if s not in snapshot["mine"]]
    assert summary["verified"] is False
    session = ChatSession.objects.select_related("ticket").get(public_id=welcome["session"])
    ticket = session.ticket
    assert session.customer != buyer and ticket.requester != buyer
    assert ticket.requester_identity == RequesterIdentity.UNVERIFIED
    # No order confirmed or linked, from the field or from the text.
    assert ticket.order_number == ""
    client = Client()
    client.force_login(AgentFactory())
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Email not verified" in page and "Secret Phone" not in page
    assert not buyer.requested_tickets.exists()


def test_an_unverified_start_answers_alike_for_any_order_number(clock, online_agent):
    """No oracle: the start is accepted the same way whoever owns the order."""
    buyer = BuyerFactory(email="ada@example.com")
    own, other = OrderFactory(buyer=buyer), OrderFactory()
    online_agent()

    async def start(number: str):
        visitor = Socket("/ws/chat/")
        await visitor.open()
        await visitor.send(start_frame(order_number=number))
        frames = [await visitor.recv(), await visitor.recv()]
        await visitor.close()
        return [(f["type"], f.get("code")) for f in frames]

    answers = [run(start, number) for number in (own.number, other.number, "IZ-99999999")]
    assert answers[0] == answers[1] == answers[2] == [("ack", None), ("welcome", None)]


def test_verifying_mid_chat_links_the_account_from_then_on(
    clock, online_agent, smtp_server, settings
):
    buyer = BuyerFactory(email="ada@example.com")
    order = OrderFactory(buyer=buyer)
    cookie = session_cookie(online_agent())

    async def scenario():
        staff = Socket("/ws/console/chat/", cookie=cookie)
        await staff.open()
        await staff.until("queue")
        visitor = Socket("/ws/chat/")
        await visitor.open()
        await visitor.send(start_frame(order_number=order.number))
        welcome = await visitor.until("welcome")
        session_id = welcome["session"]
        other_tab = Socket("/ws/chat/")
        await other_tab.open()
        await other_tab.send({"type": "resume", "token": welcome["token"], "last_seq": 0})
        await other_tab.until("welcome")
        await staff.until("offer")
        await staff.send({"type": "accept", "session": session_id})
        await staff.until("history", session=session_id)

        await visitor.send({"type": "verify", "code": "123456"})
        not_requested = await visitor.until("error")
        await visitor.send({"type": "verify_request"})
        sent = await visitor.until("verify_sent")
        from channels.db import database_sync_to_async

        await database_sync_to_async(run_queued_tasks)()
        code = _code(smtp_server, "ada@example.com")
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        await visitor.send({"type": "verify", "code": wrong})
        wrong_answer = await visitor.until("error")
        await visitor.send({"type": "verify", "code": "12"})
        malformed = await visitor.until("error")
        await visitor.send({"type": "verify", "code": code})
        verified = await visitor.until("verified")
        desk_verified = await staff.until("verified")
        await visitor.send({"type": "message", "client_id": client_id(), "text": "Thanks!"})
        await visitor.until("ack")
        # A second tab attached before the verification writes as the account too.
        await other_tab.send(
            {"type": "message", "client_id": client_id(), "text": "From the other tab"}
        )
        await other_tab.until("ack")
        await other_tab.close()
        await visitor.send({"type": "verify_request"})
        again = await visitor.until("error")
        await visitor.close()
        await staff.close()
        return (
            session_id,
            not_requested,
            sent,
            wrong_answer,
            malformed,
            verified,
            desk_verified,
            again,
        )

    session_id, not_requested, sent, wrong, malformed, verified, desk, again = run(scenario)
    assert not_requested["code"] == "code_not_requested"
    assert sent["email"] == "a***@example.com"
    assert sent["expires_in"] == settings.IZONIE_IDENTITY_CODE_TTL_SECONDS
    assert wrong["code"] == "code_wrong" and wrong["attempts_left"] == 4
    assert "4 tries left" in wrong["detail"]
    assert malformed["code"] == "code_malformed"
    assert verified == {"type": "verified", "session": session_id, "method": "email_code"}
    assert desk == verified
    assert again["code"] == "already_verified"
    session = ChatSession.objects.select_related("ticket").get(public_id=session_id)
    ticket = session.ticket
    assert session.customer == buyer and ticket.requester == buyer
    assert ticket.requester_identity == RequesterIdentity.EMAIL_CODE
    assert ticket.order_number == order.number
    # From then on the chat's messages are the account's.
    assert Message.objects.get(ticket=ticket, body_text="Thanks!").author == buyer
    assert Message.objects.get(ticket=ticket, body_text="From the other tab").author == buyer
    event = ticket.events.get(kind=EventKind.REQUESTER_VERIFIED)
    assert event.data["account_id"] == buyer.pk and event.data["method"] == "email_code"


def test_a_signed_in_customer_is_verified_from_the_start(clock, online_agent):
    buyer = BuyerFactory(email="ada@example.com")
    order = OrderFactory(buyer=buyer)
    online_agent()
    cookie = session_cookie(buyer)

    async def scenario():
        customer = Socket("/ws/chat/", cookie=cookie)
        await customer.open()
        await customer.send(start_frame(order_number=order.number))
        welcome = await customer.until("welcome")
        await customer.send({"type": "verify_request"})
        answer = await customer.until("error")
        await customer.close()
        return welcome, answer

    welcome, answer = run(scenario)
    assert welcome["verified"] is True and answer["code"] == "already_verified"
    ticket = ChatSession.objects.get(public_id=welcome["session"]).ticket
    assert ticket.requester == buyer and ticket.order_number == order.number


@pytest.mark.browser
def test_the_widget_asks_for_the_code_and_accepts_it(browser, asgi_server, clock, smtp_server):
    from playwright.sync_api import expect

    from chat.tests.test_browser import agent_online, new_page, start_chat
    from conftest import screenshot_path

    buyer = BuyerFactory(email="ada@example.com")
    OrderFactory(buyer=buyer)
    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)
    customer = new_page(browser)
    dialog = start_chat(customer, asgi_server, text="Where is my phone?")
    desk.get_by_role("button", name="Accept chat with Ada Obi").click()
    expect(desk.locator("#conv-identity")).to_contain_text("Email not verified")
    expect(desk.locator("#mine")).to_contain_text("Email not verified")

    dialog.get_by_role("button", name="Email me a code").click()
    code_input = dialog.get_by_label("Code sent to a***@example.com")
    expect(code_input).to_be_visible()
    run_queued_tasks()
    code = _code(smtp_server, "ada@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    code_input.fill(wrong)
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.locator("#izc-code-error")).to_contain_text("That code is wrong. 4 tries left.")
    customer.screenshot(path=screenshot_path("chat-widget-verify-code"))
    desk.screenshot(path=screenshot_path("chat-desk-unverified"))
    code_input.fill(code)
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_role("log", name="Conversation")).to_contain_text(
        "Your email address is confirmed."
    )
    expect(dialog.locator(".izc-verify")).to_be_hidden()
    expect(desk.get_by_role("log", name="Messages")).to_contain_text(
        "The customer confirmed their email address."
    )
    expect(desk.locator("#conv-identity")).to_be_hidden()
    expect(desk.locator("#mine")).not_to_contain_text("Email not verified")
    session = ChatSession.objects.select_related("ticket").get()
    assert session.ticket.requester == buyer
