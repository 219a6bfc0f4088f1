"""The workspace's tools in Chromium, as an agent uses them: the header's search over
every ticket (whatever the view, words in any message, the matching words marked), bulk
changes to ticked tickets, and ending a shift after seeing which tickets will move."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel
from tickets.models import Ticket, TicketEvent
from tickets.tests.factories import TicketFactory
from workload.models import Reason, Reassignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_header_search_finds_a_word_in_any_ticket_and_marks_it(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    agent = AgentFactory()
    buyer = BuyerFactory(display_name="Chioma Nwosu")
    # waiting on the customer: outside the "open" views the agent may be looking at
    waiting = services.ticket_open(
        requester=buyer,
        channel=Channel.EMAIL,
        category="payments",
        body="My Zenith card was debited twice for order IZ-20461100.",
    )
    services.ticket_reply(ticket=waiting, author=agent, body="Could you send the receipt?")
    Ticket.objects.filter(pk=waiting.pk).update(status="pending")
    solved = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.WEB_FORM,
        category="payments",
        body="The Zenith transfer arrived, thank you.",
    )
    Ticket.objects.filter(pk=solved.pk).update(status="resolved")
    unrelated = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.EMAIL,
        category="order_status",
        body="Where is my blender?",
    )
    login(page, agent)
    page.goto(f"{live_server.url}/console/tickets/{unrelated.pk}/")
    page.wait_for_load_state("domcontentloaded")

    # "/" from any console page goes to the header's search box
    page.keyboard.press("/")
    box = page.get_by_label("Search all tickets")
    expect(box).to_be_focused()
    box.fill("zenith")
    box.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("2 tickets found for “zenith”")
    hits = page.locator("ol.search-hits > li")
    expect(hits).to_have_count(2)
    found = hits.filter(has_text=waiting.reference)
    expect(found).to_contain_text("Chioma Nwosu")
    expect(found).to_contain_text("matched: Message")
    expect(found.locator(".snippet mark")).to_have_text("Zenith")
    expect(page.locator("ol.search-hits")).not_to_contain_text(unrelated.reference)
    page.screenshot(path=screenshot_path(f"workspace-search-{width}"), full_page=True)

    # a filter narrows the same search
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text(solved.reference)

    # the hit opens its ticket
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name=waiting.reference).click()
    expect(page).to_have_url(f"{live_server.url}/console/tickets/{waiting.pk}/")

    # nothing found says what to try
    page.goto(f"{live_server.url}/console/search?q=xylophone")
    expect(page.locator(".search-hits .empty")).to_contain_text("Try fewer words")


@pytest.mark.parametrize("width", [1280, 390])
def test_bulk_changes_apply_to_the_ticked_tickets_only(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    agent = AgentFactory(display_name="Ada Okafor")
    AgentFactory(display_name="Tunde Bello")
    chosen = [TicketFactory(status="open", subject=f"Refund {n} not received") for n in range(2)]
    left = TicketFactory(status="open", subject="Screen flickers")
    login(page, agent)
    page.goto(f"{live_server.url}/console/?view=open")

    for ticket in chosen:
        page.get_by_label(f"Select {ticket.reference}").check()
    page.get_by_label("Assign selected to").select_option(label="Tunde Bello")
    page.get_by_label("Set status of selected").select_option("on_hold")
    page.get_by_text("More changes").click()
    page.get_by_label("Add tags to selected (separated by commas)").fill("refund-batch")
    page.screenshot(path=screenshot_path(f"workspace-bulk-{width}"))
    page.get_by_role("button", name="Apply to selected").click()

    expect(page.locator("#flash")).to_contain_text("2 tickets")
    for ticket in chosen:
        ticket.refresh_from_db()
        assert (str(ticket.assignee), ticket.status) == ("Tunde Bello", "on_hold")
        assert list(ticket.tags.values_list("name", flat=True)) == ["refund-batch"]
    left.refresh_from_db()
    assert left.assignee is None and left.status == "open" and not left.tags.exists()
    # back on the list the agent came from, its rows showing the change
    expect(page).to_have_url(f"{live_server.url}/console/?view=open")
    for ticket in chosen:
        row = page.locator(f'tr[data-ticket="{ticket.pk}"]')
        expect(row).to_contain_text("On hold")
        expect(row).to_contain_text("Tunde Bello")
    expect(page.locator(f'tr[data-ticket="{left.pk}"]')).not_to_contain_text("Tunde Bello")


def test_ending_the_shift_shows_what_moves_then_moves_it(page, login, live_server):
    page.set_viewport_size({"width": 390, "height": 800})
    ada = AgentFactory(teams=["technical"], display_name="Ada Okafor")
    colleague = AgentFactory(teams=["technical"], display_name="Tunde Bello")
    waiting = []
    for channel in (Channel.EMAIL, Channel.WEB_FORM):
        ticket = services.ticket_open(
            requester=BuyerFactory(),
            channel=channel,
            category="technical_support",
            body="The app crashes at checkout.",
        )
        waiting.append(services.ticket_update(ticket=ticket, actor=ada, assignee=ada))
    answered = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.EMAIL,
        category="technical_support",
        body="The camera will not focus.",
    )
    services.ticket_update(ticket=answered, actor=ada, assignee=ada)
    services.ticket_reply(ticket=answered, author=ada, body="Please clean the lens.")

    # the colleague is at work (a console page opens the shift)
    login(page, colleague)
    page.goto(f"{live_server.url}/console/")
    page.context.clear_cookies()

    login(page, ada)
    page.goto(f"{live_server.url}/console/shift/end")
    heading = page.get_by_role("heading", name="Ending your shift moves 2 tickets")
    expect(heading).to_be_visible()
    listed = page.locator("ul.shift-move")
    for ticket in waiting:
        expect(listed).to_contain_text(ticket.reference)
    expect(listed).not_to_contain_text(answered.reference)
    page.screenshot(path=screenshot_path("workspace-shift-end-390"), full_page=True)

    page.get_by_role("button", name="End shift and move 2 tickets").click()
    expect(page.locator("#flash")).to_contain_text("2 tickets went to colleagues")
    assert set(Ticket.objects.filter(assignee=colleague)) == set(waiting)
    assert Ticket.objects.get(pk=answered.pk).assignee == ada
    assert set(Reassignment.objects.values_list("reason", flat=True)) == {Reason.SHIFT_ENDED}
    # the history says which rule moved it, not the agent or the customer
    page.goto(f"{live_server.url}/console/tickets/{waiting[0].pk}/")
    expect(page.locator("#ticket-page")).to_contain_text("reassignment rule")
    assert TicketEvent.objects.filter(ticket=waiting[0], kind="assigned").exists()
