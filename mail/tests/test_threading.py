"""Threading by every reference: mail is not delivered in order, and several replies can
reach us before the message they answer."""

import pytest

from mail.intake import ingest_many, ingest_raw
from mail.models import EmailTicketLink, InboundStatus
from mail.tests.test_intake import mail
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def original() -> bytes:
    return mail(message_id="<o1@example.com>", subject="Order 1234 never arrived")


def reply(n: int, **headers) -> bytes:
    # Each reply answers the original, and the later ones the reply before them too,
    # as mail clients write References (oldest first).
    references = " ".join(["<o1@example.com>", *(f"<r{i}@example.com>" for i in range(1, n))])
    return mail(
        message_id=f"<r{n}@example.com>",
        subject="Re: Order 1234 never arrived",
        body=f"Follow-up number {n}.",
        In_Reply_To="<o1@example.com>",
        References=references,
        **headers,
    )


def siblings(n: int) -> bytes:
    # Replies that name only the original (each written before the others arrived).
    return mail(
        message_id=f"<s{n}@example.com>",
        subject="Re: Order 1234 never arrived",
        body=f"Sibling {n}.",
        In_Reply_To="<o1@example.com>",
    )


@pytest.mark.parametrize("make", [reply, siblings])
def test_three_replies_before_their_original_share_one_ticket_one_mail_at_a_time(make):
    records = [ingest_raw(raw=make(n)) for n in (1, 2, 3)]
    late = ingest_raw(raw=original())
    assert {r.status for r in [*records, late]} == {InboundStatus.PROCESSED}
    assert Ticket.objects.count() == 1
    assert {r.ticket_id for r in [*records, late]} == {Ticket.objects.get().pk}
    assert Ticket.objects.get().messages.filter(direction="in").count() == 4


@pytest.mark.parametrize("make", [reply, siblings])
def test_three_replies_before_their_original_share_one_ticket_in_one_batch(make):
    records = ingest_many([make(1), make(2), make(3), original()])
    assert Ticket.objects.count() == 1
    assert len({r.ticket_id for r in records}) == 1


def test_the_original_arriving_last_in_a_later_batch_joins_too():
    ingest_many([siblings(1), siblings(2)])
    ingest_many([siblings(3)])
    late = ingest_many([original()])[0]
    assert Ticket.objects.count() == 1 and late.ticket == Ticket.objects.get()


def strangers_reply(message_id: str) -> bytes:
    # Someone who is not a party answers the original.
    return mail(
        sender="Mallory <mallory@other.test>",
        message_id=message_id,
        subject="Re: Order 1234 never arrived",
        In_Reply_To="<o1@example.com>",
    )


def test_a_strangers_sibling_reply_still_opens_a_linked_ticket():
    first = ingest_raw(raw=siblings(1))
    stranger = ingest_raw(raw=strangers_reply("<x1@other.test>"))
    late = ingest_raw(raw=original())
    assert stranger.ticket != first.ticket
    assert late.ticket == first.ticket
    link = EmailTicketLink.objects.get()
    assert (link.ticket, link.linked_to) == (stranger.ticket, first.ticket)


def test_both_tickets_pages_show_the_link_a_strangers_reply_made(client):
    from django.urls import reverse

    from accounts.tests.factories import AgentFactory

    first = ingest_raw(raw=original())
    stranger = ingest_raw(raw=strangers_reply("<x2@other.test>"))
    assert stranger.ticket != first.ticket
    client.force_login(AgentFactory())

    def links(ticket: Ticket) -> str:
        page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()
        return page.split('<ul class="ticket-links">', 1)[1].split("</ul>", 1)[0]

    opened = links(stranger.ticket)
    assert "Split off from" in opened and first.ticket.reference in opened
    assert "Reply by a non-party" not in opened
    original_page = links(first.ticket)
    assert "Reply by a non-party opened" in original_page
    assert stranger.ticket.reference in original_page and "Split off" not in original_page
