"""Keyboard and flow: sortable inbox columns, quick actions, answers in place (htmx)
and "send and go to the next ticket in this view"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets.models import Ticket
from tickets.selectors import TicketFilters, ticket_ids_in_order, ticket_list
from tickets.tests.factories import TicketFactory


def _references(page: str) -> list[str]:
    """The ticket references in the inbox table, top to bottom."""
    refs = []
    for chunk in page.split('<td class="subject">')[1:]:
        start = chunk.index("<strong>") + len("<strong>")
        refs.append(chunk[start : chunk.index("</strong>")])
    return refs


@pytest.mark.django_db
def test_inbox_sorts_by_a_column_and_back(client):
    agent = AgentFactory()
    client.force_login(agent)
    low = TicketFactory(status="open", priority="low")
    urgent = TicketFactory(status="open", priority="urgent")
    normal = TicketFactory(status="open", priority="normal")
    high = TicketFactory(status="open", priority="high")
    page = client.get(reverse("console:inbox"), {"view": "open", "sort": "priority"})
    text = page.content.decode()
    assert _references(text) == [t.reference for t in (urgent, high, normal, low)]
    # the heading says how it is sorted, and its link reverses the order
    assert 'aria-sort="descending"><a href="?view=open&amp;sort=-priority">Prio' in text
    reversed_page = client.get(reverse("console:inbox"), {"view": "open", "sort": "-priority"})
    assert _references(reversed_page.content.decode()) == [
        t.reference for t in (low, normal, high, urgent)
    ]
    # the same in the agent's own list ("My urgent"), read their own way
    Ticket.objects.update(assignee=agent)
    for sort, expected in (
        ("priority", (urgent, high, normal, low)),
        ("-priority", (low, normal, high, urgent)),
    ):
        mine = client.get(reverse("console:inbox"), {"view": "mine", "sort": sort})
        assert _references(mine.content.decode()) == [t.reference for t in expected]
    Ticket.objects.update(assignee=None)
    # an unknown column is the usual order: newest activity first
    unknown = client.get(reverse("console:inbox"), {"view": "open", "sort": "nonsense"})
    assert _references(unknown.content.decode())[0] == high.reference
    # by status, reversed: the last of the view's statuses first, resolved ones never
    TicketFactory(status="resolved")
    waiting = TicketFactory(status="pending")
    by_status = client.get(reverse("console:inbox"), {"view": "open", "sort": "-status"})
    assert _references(by_status.content.decode()) == [
        t.reference for t in (waiting, low, urgent, normal, high)
    ]


@pytest.mark.django_db
def test_sorting_by_reply_due_pages_through_every_ticket(client):
    client.force_login(AgentFactory())
    now = timezone.now()
    made = [
        TicketFactory(status="open", first_reply_due_at=now + dt.timedelta(minutes=m))
        for m in (50, 10, 40, 20, 30) * 6
    ]
    made.append(TicketFactory(status="open", first_reply_due_at=None))
    first = client.get(reverse("console:inbox"), {"view": "open", "sort": "due"})
    text = first.content.decode()
    on_first = _references(text)
    assert len(on_first) == 25
    assert on_first[:6] == [
        t.reference for t in made if t.first_reply_due_at == made[1].first_reply_due_at
    ]
    second = client.get(reverse("console:inbox"), {"view": "open", "sort": "due", "cursor": "o25"})
    on_second = _references(second.content.decode())
    # nothing twice, nothing missed, the ticket with no deadline last
    assert sorted(on_first + on_second) == sorted(t.reference for t in made)
    assert on_second[-1] == made[-1].reference
    assert "cursor=o25" in text
    # reversed, the latest deadline first; the ticket with none still last
    latest = client.get(reverse("console:inbox"), {"view": "open", "sort": "-due"})
    assert _references(latest.content.decode())[:6] == [
        t.reference for t in reversed(made) if t.first_reply_due_at == made[0].first_reply_due_at
    ]
    last = client.get(reverse("console:inbox"), {"view": "open", "sort": "-due", "cursor": "o25"})
    assert _references(last.content.decode())[-1] == made[-1].reference
    # a cursor of the other kind is refused politely, not a server error
    bad = client.get(reverse("console:inbox"), {"view": "open", "sort": "due", "cursor": "zzz"})
    assert bad.status_code == 200 and "That page link has expired" in bad.content.decode()


@pytest.mark.django_db
def test_assign_to_me_and_solve_in_one_click(client):
    agent = AgentFactory()
    ticket = TicketFactory(status="open")
    client.force_login(agent)
    url = reverse("console:quick", args=[ticket.pk])
    assert client.post(url, {"action": "assign_me"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    client.post(url, {"action": "solve"})
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
    assert "Ticket solved." in page and 'data-shortcut="solve"' not in page


@pytest.mark.django_db
def test_send_and_go_to_the_next_ticket_in_the_view_the_agent_came_from(client):
    agent = AgentFactory()
    client.force_login(agent)
    urgent = TicketFactory(status="open", priority="urgent", requester=BuyerFactory())
    high = TicketFactory(status="open", priority="high")
    TicketFactory(status="open", priority="low")
    client.get(reverse("console:inbox"), {"view": "open", "sort": "priority"})
    page = client.get(reverse("console:ticket", args=[urgent.pk])).content.decode()
    assert f'name="next_in_view" value="{high.pk}"' in page
    assert "Next in this view" in page
    form = {"body": "Refund is on its way.", "status": "pending", "then": "next"}
    form["next_in_view"] = str(high.pk)
    response = client.post(reverse("console:reply", args=[urgent.pk]), form)
    assert response.status_code == 302
    assert response["Location"] == reverse("console:ticket", args=[high.pk])
    assert urgent.messages.filter(body_text="Refund is on its way.").exists()
    # the same from htmx: a client-side redirect, so the browser loads the next ticket
    response = client.post(
        reverse("console:reply", args=[high.pk]),
        {"body": "Looking into it.", "status": "", "then": "next"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('console:next_ticket')}?after={high.pk}"


@pytest.mark.django_db
def test_htmx_reply_with_an_error_answers_with_the_page_to_swap(client):
    agent = AgentFactory()
    ticket = TicketFactory(status="open")
    client.force_login(agent)
    response = client.post(
        reverse("console:note", args=[ticket.pk]), {"body": ""}, headers={"HX-Request": "true"}
    )
    text = response.content.decode()
    assert response.status_code == 400
    assert 'id="ticket-page"' in text and "This field is required." in text
    assert Ticket.objects.get(pk=ticket.pk).messages.count() == 1


@pytest.mark.django_db
def test_inbox_by_assignee_pages_across_unassigned_and_assigned(client):
    """Unassigned first (newest first), then agents by name, then tickets still assigned
    to someone no longer on the team; reversed, the team's and the others' the other way
    round, then the unassigned; the pages join without a gap or a repeat wherever the
    boundaries fall."""
    agent = AgentFactory()
    client.force_login(agent)
    zoe = AgentFactory(display_name="Zoe")
    abe = AgentFactory(display_name="Abe")
    unassigned = [TicketFactory(status="open") for _ in range(3)]
    to_zoe = [TicketFactory(status="open", assignee=zoe) for _ in range(2)]
    to_abe = [TicketFactory(status="open", assignee=abe) for _ in range(2)]
    # Assigned while on the team; a customer since.
    former = AgentFactory(display_name="Aaron")
    to_former = [TicketFactory(status="open", assignee=former) for _ in range(2)]
    User.objects.filter(pk=former.pk).update(role="buyer")
    newest_first = [
        sorted(tickets, key=lambda t: -t.pk) for tickets in (unassigned, to_abe, to_zoe, to_former)
    ]
    natural = [t for part in newest_first for t in part]
    backwards = [
        t
        for part in (to_zoe, to_abe, to_former, unassigned)
        for t in sorted(part, key=lambda t: t.pk)
    ]
    filters = TicketFilters(status=["open"])
    for sort, expected in (("assignee", natural), ("-assignee", backwards)):
        assert ticket_ids_in_order(viewer=agent, filters=filters, sort=sort) == [
            t.pk for t in expected
        ]
        for size in (1, 2, 3, 4):
            seen, cursor = [], None
            while True:
                page = ticket_list(
                    viewer=agent, filters=filters, sort=sort, limit=size, cursor=cursor
                )
                seen += [t.pk for t in page.tickets]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen == [t.pk for t in expected], (sort, size)
    # One agent's list, or the unassigned one, holds one name: newest first, or reversed.
    for narrowed, tickets in (
        (TicketFilters(status=["open"], assignee_id=abe.pk), to_abe),
        (TicketFilters(status=["open"], unassigned=True), unassigned),
    ):
        newest = sorted((t.pk for t in tickets), reverse=True)
        assert ticket_ids_in_order(viewer=agent, filters=narrowed, sort="assignee") == newest
        assert ticket_ids_in_order(viewer=agent, filters=narrowed, sort="-assignee") == newest[::-1]
