"""The agent's flow in Chromium, keyboard first: j/k and Enter in the inbox, ? lists
the shortcuts, r / n / a / e on the ticket answered in place (no reload, no jump to the
top), "send and go to the next ticket in this view", sortable columns and a live list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def htmx_settled(page) -> None:
    """Wait until htmx has swapped and processed the new content: a click in the brief
    settle window would post the new form without htmx (a full page, as without JS)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling,"
        " .htmx-added')"
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_an_agent_works_the_queue_from_the_keyboard(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    agent = AgentFactory(display_name="Ada Okafor")
    now = timezone.now()
    tickets = [
        TicketFactory(
            status="open",
            subject=f"Parcel {n} has not arrived",
            first_reply_due_at=now + dt.timedelta(hours=n),
        )
        for n in range(3)
    ]
    for number in range(12):
        services.ticket_add_note(ticket=tickets[0], author=agent, body=f"Checked {number}")
    login(page, agent)
    page.goto(f"{live_server.url}/console/?view=open&sort=due")
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Reply due")

    # ? opens the list as a modal dialog; Escape closes it
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.screenshot(path=screenshot_path(f"workspace-shortcuts-{width}"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # j, j, k marks rows; Enter opens the marked one
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("tr.kb-current")).to_contain_text(tickets[1].reference)
    page.keyboard.press("k")
    expect(page.locator("tr.kb-current")).to_contain_text(tickets[0].reference)
    page.screenshot(path=screenshot_path(f"workspace-inbox-keyboard-{width}"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/console/tickets/{tickets[0].pk}/")
    # htmx binds the forms once the document is parsed: a key pressed before that posts
    # the form as a plain page (the no-script fallback), which is not what is tested here
    page.wait_for_load_state("domcontentloaded")

    # the page is not reloaded by any of what follows
    page.evaluate("window.sameDocument = true")

    # a: assign to me, answered in place
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text("Assigned to you.")
    expect(page.locator("#ticket-page")).to_contain_text("assigned to Ada Okafor")
    htmx_settled(page)
    assert page.evaluate("window.sameDocument") is True

    # r: the reply box; typing r, n, a or e in it is text, not a shortcut
    page.keyboard.press("r")
    reply = page.get_by_label("Reply to the customer")
    expect(reply).to_be_focused()
    page.keyboard.type("Dear customer, a new parcel is on its way.")
    assert reply.input_value() == "Dear customer, a new parcel is on its way."
    scrolled = page.evaluate("window.scrollY")
    if width == 1280:
        assert scrolled > 0  # the reply box is below a long conversation
    page.get_by_role("button", name="Send reply", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Reply queued for delivery.")
    expect(page.locator(".thread")).to_contain_text("a new parcel is on its way")
    assert page.evaluate("window.sameDocument") is True
    assert page.evaluate("window.scrollY") > 0 or scrolled == 0
    expect(reply).to_have_value("")
    htmx_settled(page)

    # n: an internal note, added in place
    page.keyboard.press("n")
    note = page.get_by_role("textbox", name="Internal note")
    expect(note).to_be_focused()
    note.fill("Courier claim filed.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".thread")).to_contain_text("Courier claim filed.")
    htmx_settled(page)

    # e: solve, in place
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("e")
    expect(page.locator("#flash")).to_contain_text("Ticket solved.")
    assert page.evaluate("window.sameDocument") is True
    first = Ticket.objects.get(pk=tickets[0].pk)
    assert first.assignee == agent and first.status == "resolved"
    page.screenshot(path=screenshot_path(f"workspace-ticket-in-place-{width}"))

    # / goes to the search box from anywhere but a field
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    expect(page.get_by_label("Search all tickets")).to_be_focused()

    # send and go to the next ticket in this view (sorted by reply due: tickets[1])
    page.goto(f"{live_server.url}/console/?view=open&sort=due")
    page.get_by_role("link", name=tickets[1].reference).click()
    page.get_by_label("Reply to the customer").fill("Refund sent.")
    page.get_by_role("button", name="Send and go to the next ticket in this view").click()
    expect(page).to_have_url(f"{live_server.url}/console/tickets/{tickets[2].pk}/")
    assert Ticket.objects.get(pk=tickets[1].pk).messages.filter(body_text="Refund sent.").exists()


@pytest.mark.parametrize("width", [1280, 390])
def test_new_tickets_appear_in_the_open_inbox(page, login, live_server, settings, width):
    settings.IZONIE_INBOX_LIVE_SECONDS = 1
    page.set_viewport_size({"width": width, "height": 800})
    TicketFactory(status="open", subject="Old question about a refund")
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/?view=open")
    page.evaluate("window.sameDocument = true")
    page.keyboard.press("j")
    services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.WEB_FORM,
        category="payments",
        body="I was charged twice for one order.",
    )
    # The sidebar's counts are cached for half a minute; once they are recounted, the
    # next refresh of the table brings them along.
    expect(page.locator("#count-open")).to_have_text("1")
    cache.clear()
    fresh = page.locator("tr.fresh")
    expect(fresh).to_contain_text("charged twice")
    expect(page.locator("#count-open")).to_have_text("2")
    expect(page.get_by_role("status").filter(has_text="new or changed")).to_be_visible()
    # the row marked from the keyboard stays marked
    expect(page.locator("tr.kb-current")).to_contain_text("Old question about a refund")
    assert page.evaluate("window.sameDocument") is True
    page.screenshot(path=screenshot_path(f"workspace-inbox-live-{width}"))
