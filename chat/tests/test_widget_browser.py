"""The widget in Chromium around the chat itself: it turns from "Leave a message" to
"Start chat" when an agent comes online, without a reload; it shows "Reconnecting…"
while the connection is down, keeps unsent messages across a reload and sends them
once; the panel comes back open after a reload; the launcher counts unseen replies;
times are in the team's zone with the viewer's beside; a signed-in buyer is not asked
who they are and is not offered seller topics."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from chat.models import AgentPresence, Presence
from chat.tests.test_browser import PRODUCT, agent_online, new_page, sign_in, start_chat
from conftest import screenshot_path
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_widget_turns_online_without_a_reload(browser, asgi_server, clock):
    """The waiting widget polls the server's pulse every 3 s (cached 2 s), so an agent
    coming online turns "Leave a message" into "Start chat" within about 5 s."""
    customer = new_page(browser, width=390, height=844)
    customer.goto(f"{asgi_server.url}{PRODUCT}")
    launcher = customer.get_by_role("button", name="Chat with us")
    expect(launcher.locator(".izc-dot")).to_have_attribute("data-state", "closed")
    launcher.click()
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    expect(dialog.get_by_role("button", name="Leave a message")).to_be_visible()
    dialog.get_by_label("Your message").fill("Is the X12 Pro waterproof?")
    customer.screenshot(path=screenshot_path("chat-widget-no-agents-phone"))

    agent = AgentFactory()
    AgentPresence.objects.create(
        agent=agent, status=Presence.ONLINE, last_seen_at=dt.datetime.now(dt.UTC)
    )
    # Another process's change (a row written here, not through this server's
    # services) reaches the widget through the pulse's short cache and its poll.
    went_online = time.monotonic()
    expect(dialog.get_by_role("button", name="Start chat")).to_be_visible(timeout=12_000)
    print(f"widget turned online {time.monotonic() - went_online:.1f} s after the agent")
    # What was typed is still there; the launcher's dot is green now.
    expect(dialog.get_by_label("How can we help?")).to_have_value("Is the X12 Pro waterproof?")
    expect(launcher.locator(".izc-dot")).to_have_attribute("data-state", "open")

    # Every field's problem at once.
    dialog.get_by_label("How can we help?").fill("")
    dialog.get_by_role("button", name="Start chat").click()
    for name in ("name", "email", "category", "text"):
        expect(dialog.locator(f"#izc-{name}-error")).not_to_be_empty()
    customer.screenshot(path=screenshot_path("chat-widget-all-errors-phone"))


def test_a_dropped_connection_and_a_reload_lose_nothing(browser, asgi_server, clock):
    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)
    customer = new_page(browser, width=390, height=844)
    dialog = start_chat(customer, asgi_server, text="Where is my parcel?")
    desk.get_by_role("button", name="Accept offered chat with Ada Obi").click()
    log = dialog.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("Ada Agent joined the chat.")
    # Times in the team's zone (Lagos), the viewer's (London) beside.
    expect(log.locator("time").first).to_contain_text("your time")

    customer.context.set_offline(True)
    expect(dialog.locator(".izc-status")).to_contain_text("Reconnecting…")
    composer = dialog.get_by_label("Type your message")
    composer.fill("Sent while offline")
    composer.press("Enter")
    expect(log.locator("li.izc-mine").last).to_contain_text("Sending…")
    customer.screenshot(path=screenshot_path("chat-widget-reconnecting-phone"))
    customer.context.set_offline(False)
    customer.reload()

    # The panel comes back open, with the chat, and the message goes out once.
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    log = dialog.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("Where is my parcel?")
    expect(log.get_by_text("Sent while offline")).to_have_count(1)
    expect(desk.get_by_role("log", name="Messages")).to_contain_text("Sent while offline")
    expect(log.locator("li.izc-mine").last).to_contain_text(re.compile("Sent|Read"))
    assert Message.objects.filter(body_text="Sent while offline").count() == 1

    # Closed panel: a reply shows as a count on the launcher, also after a reload.
    customer.keyboard.press("Escape")
    desk.get_by_label("Message", exact=True).fill("Your parcel is in Ikeja")
    desk.get_by_label("Message", exact=True).press("Enter")
    launcher = customer.get_by_role("button", name="Chat with us")
    expect(launcher.locator(".izc-unread")).to_have_text("1")
    expect(launcher.locator(".izc-dot")).to_have_attribute("data-state", "chat")
    customer.reload()
    launcher = customer.get_by_role("button", name="Chat with us")
    expect(launcher.locator(".izc-unread")).to_have_text("1")
    customer.screenshot(path=screenshot_path("chat-widget-unread-launcher-phone"))
    launcher.click()
    expect(launcher.locator(".izc-unread")).to_be_hidden()


def test_a_signed_in_buyer_is_not_asked_who_they_are(browser, asgi_server, clock):
    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)
    buyer = BuyerFactory(display_name="Ngozi Buyer", email="ngozi@example.com")
    customer = new_page(browser)
    sign_in(customer, asgi_server, buyer)
    customer.goto(f"{asgi_server.url}{PRODUCT}")
    customer.get_by_role("button", name="Chat with us").click()
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    expect(dialog).to_contain_text("Signed in as Ngozi Buyer (ngozi@example.com).")
    expect(dialog.get_by_label("Your name")).to_have_count(0)
    topics = dialog.get_by_label("Topic").inner_text()
    assert "Seller Support" not in topics
    dialog.get_by_label("Topic").select_option(label="Returns")
    dialog.get_by_label("How can we help?").fill("Return my headphones")
    dialog.get_by_role("button", name="Start chat").click()
    expect(dialog.get_by_role("log", name="Conversation")).to_contain_text("Return my headphones")
    customer.screenshot(path=screenshot_path("chat-widget-signed-in"))
    assert Message.objects.get(body_text="Return my headphones").ticket.requester == buyer

    # Escalating asks for the reason, shows it back, and marks the chat on the desk.
    desk.get_by_role("button", name="Accept offered chat with Ngozi Buyer").click()
    dialog.get_by_role("button", name="Escalate to a Supervisor").click()
    dialog.get_by_label("What should the supervisor know? (optional)").fill("Third time asking")
    dialog.get_by_role("button", name="Send to a supervisor").click()
    log = dialog.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("You asked for a supervisor: “Third time asking”")
    expect(desk.get_by_role("log", name="Messages")).to_contain_text(
        "The customer asked for a supervisor: Third time asking"
    )
    expect(desk.locator("#mine .badge.escalated")).to_have_text("Escalated")
    desk.close()
