"""Two agents on one ticket in Chromium, served by uvicorn with real WebSockets: one
starts typing a reply and the other's page says so within moments, without polling."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from chat.tests.conftest import asgi_server  # noqa: F401  (the fixture: uvicorn, sockets)
from chat.tests.test_browser import new_page, sign_in
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_colleague_typing_shows_at_once_over_the_socket(browser, asgi_server):  # noqa: F811
    ticket = services.ticket_open(
        requester=BuyerFactory(display_name="Chioma Nwosu"),
        channel=Channel.EMAIL,
        category="technical_support",
        body="The app crashes at checkout.",
    )
    url = f"{asgi_server.url}/console/tickets/{ticket.pk}/"
    ada = new_page(browser, width=1280)
    sign_in(ada, asgi_server, AgentFactory(display_name="Ada Obi"))
    bola = new_page(browser, width=1280)
    sign_in(bola, asgi_server, AgentFactory(display_name="Bola Bello"))
    polls: list[str] = []
    bola.on("request", lambda r: polls.append(r.url) if r.url.endswith("/presence") else None)

    ada.goto(url)
    bola.goto(url)
    # Each page hears of the other as it opens.
    expect(bola.locator("#ticket-presence")).to_have_text("Ada Obi is viewing this ticket")
    expect(ada.locator("#ticket-presence")).to_have_text("Bola Bello is viewing this ticket")

    started = time.monotonic()
    ada.get_by_label("Reply to the customer").fill("Please update the app to 2.3.")
    expect(bola.locator("#ticket-presence")).to_have_text(
        "Ada Obi is typing a reply", timeout=3_000
    )
    shown_after = time.monotonic() - started
    assert shown_after < 3
    bola.screenshot(path=screenshot_path("collisions-socket-1280"))

    # Ada leaves the ticket: Bola's bar empties without a reload.
    ada.goto(f"{asgi_server.url}/console/")
    expect(bola.locator("#ticket-presence")).to_be_empty()
    # All of it came over the socket: Bola's page never polled.
    assert polls == []
    ada.context.close()
    bola.context.close()
