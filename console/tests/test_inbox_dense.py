"""The dense inbox: priority, escalation, reply due state, and what the customer wrote
since the agent last looked; at least 15 tickets on a 1280 x 800 screen."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory
from workload.models import TicketSeen


def _row(page: str, ticket: Ticket) -> str:
    start = page.index(f"<strong>{ticket.reference}</strong>")
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


@pytest.mark.django_db
def test_rows_mark_escalation_overdue_and_the_customer_writing_since(client):
    agent = AgentFactory()
    now = timezone.now()
    overdue = TicketFactory(status="open", first_reply_due_at=now - dt.timedelta(minutes=5))
    soon = TicketFactory(
        status="open", priority="urgent", first_reply_due_at=now + dt.timedelta(minutes=20)
    )
    escalated = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.WEB_FORM,
        category="order_status",
        body="Where is my order? I want a supervisor, escalate this.",
    )
    client.force_login(agent)
    page = client.get(reverse("console:inbox")).content.decode()
    assert "Overdue: " in _row(page, overdue) and "due-overdue" in _row(page, overdue)
    assert "Due soon: " in _row(page, soon) and "Urgent" in _row(page, soon)
    assert "Escalated" in _row(page, escalated)
    assert "Customer wrote since you looked" in _row(page, escalated)
    assert '<td title="Contact form">Contact form</td>' in _row(page, escalated)  # channel
    # A ticket's sub-channel is its channel as agents see it (``Ticket.get_channel_display``).
    left = TicketFactory(status="open", channel="email", sub_channel="chat_offline")
    page = client.get(reverse("console:inbox")).content.decode()
    assert '<td title="Live chat, offline message">' in _row(page, left)

    # opening the ticket clears the marker until the customer writes again
    client.get(reverse("console:ticket", args=[escalated.pk]))
    page = client.get(reverse("console:inbox")).content.decode()
    assert "Customer wrote since you looked" not in _row(page, escalated)
    services.ticket_customer_message(ticket=escalated, author=escalated.requester, body="Any news?")
    page = client.get(reverse("console:inbox")).content.decode()
    assert "Customer wrote since you looked" in _row(page, escalated)

    # opening it again moves the agent's mark (the row is updated, not added twice)
    client.get(reverse("console:ticket", args=[escalated.pk]))
    page = client.get(reverse("console:inbox")).content.decode()
    assert "Customer wrote since you looked" not in _row(page, escalated)
    assert TicketSeen.objects.filter(agent=agent, ticket=escalated).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_fifteen_tickets_fit_on_a_laptop_screen(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    for index in range(20):
        TicketFactory(
            status="open",
            subject=f"Phone {index} arrived with a cracked screen and a long subject line",
            first_reply_due_at=timezone.now() + dt.timedelta(hours=index - 3),
        )
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/?view=open")
    page.screenshot(path=screenshot_path(f"inbox-dense-{width}"))
    if width == 1280:
        rows = page.locator(".inbox-table tbody tr")
        visible = [rows.nth(i).bounding_box() for i in range(rows.count())]
        on_screen = [box for box in visible if box and box["y"] + box["height"] <= 800]
        assert len(on_screen) >= 15


@pytest.mark.django_db
def test_bulk_assign_and_status_in_one_submit(client):
    agent, colleague = AgentFactory(), AgentFactory(display_name="Tunde Bello")
    chosen = [TicketFactory(status="open") for _ in range(3)]
    left = TicketFactory(status="open")
    client.force_login(agent)
    page = client.get(reverse("console:inbox")).content.decode()
    assert f'aria-label="Select {chosen[0].reference}"' in page
    response = client.post(
        reverse("console:bulk"),
        {
            "ticket": [t.pk for t in chosen],
            "assignee": colleague.pk,
            "status": "on_hold",
            "next": "/console/?view=open",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/console/?view=open"
    for ticket in chosen:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.status) == (colleague, "on_hold")
    left.refresh_from_db()
    assert left.assignee is None and left.status == "open"
    # an outside "next" is not followed
    response = client.post(
        reverse("console:bulk"),
        {"ticket": [left.pk], "assignee": "none", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("console:inbox")


@pytest.mark.django_db
def test_next_ticket_goes_to_my_most_urgent_then_the_queue(client):
    agent = AgentFactory()
    now = timezone.now()
    current = TicketFactory(status="open", assignee=agent)
    later = TicketFactory(
        status="open", assignee=agent, first_reply_due_at=now + dt.timedelta(hours=3)
    )
    sooner = TicketFactory(
        status="open", assignee=agent, first_reply_due_at=now + dt.timedelta(hours=1)
    )
    queued = TicketFactory(status="open", first_reply_due_at=now)
    client.force_login(agent)
    page = client.get(reverse("console:ticket", args=[current.pk])).content.decode()
    assert f"/console/next?after={current.pk}" in page
    url = reverse("console:next_ticket")
    assert client.get(url, {"after": current.pk})["Location"] == f"/console/tickets/{sooner.pk}/"
    sooner.status = later.status = current.status = "resolved"
    for t in (sooner, later, current):
        t.save()
    assert client.get(url, {"after": current.pk})["Location"] == f"/console/tickets/{queued.pk}/"


@pytest.mark.django_db
def test_inbox_badges_count_the_shared_views_once_for_every_agent(client):
    """Only "Assigned to me" is an agent's own: the other badges are counted once for
    every agent (and may trail by the cache's half minute, as before)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first, second = AgentFactory(), AgentFactory()
    for assignee in (first, first, second, None):
        TicketFactory(status="open", assignee=assignee)
    TicketFactory(status="pending")
    TicketFactory(status="resolved")

    def badges(agent) -> tuple[dict[str, str], int]:
        client.force_login(agent)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("console:inbox")).content.decode()
        found = {
            key: page.split(f'id="count-{key}"', 1)[1].split(">", 1)[1].split("<", 1)[0]
            for key in ("mine", "unassigned", "open", "pending", "resolved")
        }
        counts = sum(
            "COUNT(" in q["sql"] and 'FROM "tickets_ticket"' in q["sql"]
            for q in queries.captured_queries
        )
        return found, counts

    first_badges, first_counts = badges(first)
    second_badges, second_counts = badges(second)
    assert first_badges == {
        "mine": "2", "unassigned": "1", "open": "5", "pending": "1", "resolved": "1"
    }  # fmt: skip
    assert second_badges == {**first_badges, "mine": "1"}
    # The second agent's page counted its own view only: five fewer counts.
    assert second_counts == first_counts - 5
