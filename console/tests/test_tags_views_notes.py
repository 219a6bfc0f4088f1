"""Tags on tickets, saved views with counts, bulk category/priority/team/tags, and
notes about a customer shown on all of their tickets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from console.models import CustomerNote, SavedView
from console.selectors import ticket_history
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory


@pytest.mark.django_db
def test_tags_added_and_removed_on_the_ticket_and_filtered_in_the_inbox(client):
    client.force_login(AgentFactory(display_name="Ada Obi"))
    tagged = TicketFactory(status="open", subject="Card charged twice")
    other = TicketFactory(status="open", subject="Where is my parcel")
    client.post(reverse("console:tags_add", args=[tagged.pk]), {"tags": "Refund, Follow up"})
    assert sorted(t.name for t in tagged.tags.all()) == ["follow-up", "refund"]
    inbox = client.get(reverse("console:inbox"), {"view": "open", "tag": "refund"})
    text = inbox.content.decode()
    assert tagged.reference in text and other.reference not in text
    assert 'aria-label="Tag refund: show tickets with it"' in text
    client.post(reverse("console:tag_remove", args=[tagged.pk]), {"tag": "follow-up"})
    assert [t.name for t in tagged.tags.all()] == ["refund"]
    page = client.get(reverse("console:ticket", args=[tagged.pk])).content.decode()
    assert "Tag follow-up removed." in page and 'aria-label="Remove tag refund"' in page
    # The history says who tagged what; adding a tag the ticket has is no change.
    client.post(reverse("console:tags_add", args=[tagged.pk]), {"tags": "refund"})
    history = [line.text for line in ticket_history(ticket=tagged)]
    assert history[:2] == [
        "Tag removed: follow-up by Ada Obi",
        "Tagged refund, follow-up by Ada Obi",
    ]


@pytest.mark.django_db
def test_saved_views_personal_and_shared_with_their_counts(client):
    ada, sam = AgentFactory(display_name="Ada"), AgentFactory(display_name="Sam")
    for _ in range(3):
        TicketFactory(status="open", priority="urgent")
    TicketFactory(status="open", priority="low")
    client.force_login(ada)
    response = client.post(
        reverse("console:saved_view_create"),
        {"name": "Urgent first", "query": "view=open&sort=priority&cursor=abc", "shared": "1"},
    )
    saved = SavedView.objects.get()
    assert saved.query == "view=open&sort=priority"  # no page cursor kept
    assert response["Location"] == f"/console/?view=open&sort=priority&saved={saved.pk}"
    client.post(
        reverse("console:saved_view_create"),
        {"name": "Mine, by due", "query": "view=mine&sort=due"},
    )
    client.post(
        reverse("console:saved_view_create"),
        {"name": "Low only", "query": "view=open&q=&status=open&category=&tag=none-yet"},
    )
    page = client.get(reverse("console:inbox")).content.decode()
    assert "Urgent first" in page and "Mine, by due" in page
    assert 'aria-label="4 tickets">4</span>' in page  # all active, urgent first
    assert 'aria-label="0 tickets">0</span>' in page

    # a colleague sees the shared view (with whose it is), not the personal ones
    client.force_login(sam)
    page = client.get(reverse("console:inbox")).content.decode()
    assert "Urgent first" in page and "(Ada)" in page and "Mine, by due" not in page
    # and cannot delete it; a supervisor can
    assert client.post(reverse("console:saved_view_delete", args=[saved.pk])).status_code == 403
    personal = SavedView.objects.get(name="Mine, by due")
    assert client.post(reverse("console:saved_view_delete", args=[personal.pk])).status_code == 404
    client.force_login(SupervisorFactory())
    client.post(reverse("console:saved_view_delete", args=[saved.pk]))
    assert not SavedView.objects.filter(pk=saved.pk).exists()


@pytest.mark.django_db
def test_view_counts_are_bounded_and_refresh_with_the_live_table(client, monkeypatch):
    """Past the cap a badge says "3+" (a count of a million rows is a scan of them); the
    table's live refresh brings the sidebar's counts, saved views' too, along with it."""
    from django.core.cache import cache

    from tickets import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    agent = AgentFactory()
    client.force_login(agent)
    SavedView.objects.create(owner=agent, name="Urgent", query="view=open&sort=priority")
    saved = SavedView.objects.get()
    for _ in range(2):
        TicketFactory(status="open")
    page = client.get(reverse("console:inbox")).content.decode()
    assert f'id="saved-count-{saved.pk}" aria-label="2 tickets">2</span>' in page
    for _ in range(2):
        TicketFactory(status="open")
    cache.clear()  # the counts are cached for half a minute
    live = client.get(reverse("console:inbox"), headers={"HX-Request": "true"}).content.decode()
    assert 'id="count-open" aria-label="more than 3 tickets" hx-swap-oob="true">3+</span>' in live
    assert (
        f'id="saved-count-{saved.pk}" aria-label="more than 3 tickets" hx-swap-oob="true">3+</span>'
        in live
    )


@pytest.mark.django_db
def test_bulk_sets_category_priority_team_and_adds_tags(client):
    client.force_login(AgentFactory())
    chosen = [TicketFactory(status="open", category="order_status") for _ in range(2)]
    left = TicketFactory(status="open", category="order_status")
    client.post(
        reverse("console:bulk"),
        {
            "ticket": [t.pk for t in chosen],
            "category": "payments",
            "priority": "high",
            "team": "customer_care",
            "tags": "chargeback",
        },
    )
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in chosen]):
        assert (ticket.category, ticket.priority) == ("payments", "high")
        assert [t.name for t in ticket.tags.all()] == ["chargeback"]
    left.refresh_from_db()
    assert left.category == "order_status" and not left.tags.exists()
    # tags alone are a change too
    client.post(reverse("console:bulk"), {"ticket": [left.pk], "tags": "vip"})
    assert [t.name for t in left.tags.all()] == ["vip"]


@pytest.mark.django_db
def test_a_note_about_the_customer_shows_on_all_their_tickets(client):
    ada = AgentFactory(display_name="Ada")
    buyer = BuyerFactory(display_name="Chioma Nwosu")
    first, second = TicketFactory(requester=buyer), TicketFactory(requester=buyer)
    stranger = TicketFactory()
    client.force_login(ada)
    client.post(
        reverse("console:customer_note_add", args=[first.pk]),
        {"body": "Prefers phone calls after 5 pm."},
    )
    assert (
        "Prefers phone calls after 5 pm."
        in client.get(reverse("console:ticket", args=[second.pk])).content.decode()
    )
    assert (
        "Prefers phone calls"
        not in client.get(reverse("console:ticket", args=[stranger.pk])).content.decode()
    )
    note = CustomerNote.objects.get()
    # only through one of the customer's tickets, and only its author (or a supervisor)
    url = reverse("console:customer_note_delete", args=[stranger.pk, note.pk])
    assert client.post(url).status_code == 404
    client.force_login(AgentFactory())
    url = reverse("console:customer_note_delete", args=[second.pk, note.pk])
    assert client.post(url).status_code == 403
    client.force_login(ada)
    client.post(url)
    assert not CustomerNote.objects.exists()
    # Each ticket the note was written or deleted on says so in its history.
    assert ticket_history(ticket=first)[0].text == ("Note about the customer added by Ada")
    assert ticket_history(ticket=second)[0].text == ("Note about the customer deleted by Ada")
