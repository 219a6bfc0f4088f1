import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from sla.models import ClockStatus, SlaClock
from tickets import services
from tickets.attachments import check_uploads
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.merge import MergeRefused, merge_candidates, merge_preview, tickets_merge
from tickets.models import Attachment, Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _open(buyer, body, **kwargs):
    return services.ticket_open(
        requester=buyer, channel=Channel.WEB_FORM, category="technical_support", body=body, **kwargs
    )


def _age(ticket, hours):
    """Date the ticket's messages ``hours`` ago (as if written then)."""
    at = timezone.now() - dt.timedelta(hours=hours)
    Message.objects.filter(ticket=ticket).update(created_at=at)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
    return at


def test_messages_and_attachments_move_in_order_and_the_source_closes_with_a_pointer(photo):
    buyer, agent = BuyerFactory(), AgentFactory()
    first = _open(buyer, "I was charged twice for my order.", uploads=check_uploads([photo()]))
    second = _open(buyer, "Still charged twice, please help.")
    target = _open(buyer, "Double payment again!")
    _age(first, 3)
    _age(second, 2)
    services.ticket_customer_message(ticket=first, author=buyer, body="Here is the receipt.")
    counts = first.messages.count(), second.messages.count()

    tickets_merge(target=target, sources=[first, second], actor=agent)

    target.refresh_from_db()
    thread = target.messages.filter(direction="in").order_by("created_at", "id")
    bodies = list(thread.values_list("body_text", flat=True))
    assert bodies == [
        "I was charged twice for my order.",
        "Still charged twice, please help.",
        "Double payment again!",
        "Here is the receipt.",
    ]
    assert target.message_count == target.messages.count()
    attachment = Attachment.objects.get()
    assert attachment.message.ticket_id == target.pk
    assert attachment.file.read() == photo().read()
    for source in (first, second):
        source.refresh_from_db()
        assert source.merged_into_id == target.pk
        assert source.status == TicketStatus.CLOSED
        assert source.message_count == 0
        assert not source.messages.exists()
    into = TicketEvent.objects.get(ticket=first, kind=EventKind.MERGED_INTO)
    assert into.actor == agent
    assert into.data["into_reference"] == target.reference
    assert into.data["messages"] == counts[0]
    merged_from = TicketEvent.objects.get(ticket=target, kind=EventKind.MERGED_FROM)
    assert merged_from.data["from_references"] == [first.reference, second.reference]
    assert merged_from.data["messages"] == sum(counts)
    # The history says it in words on both tickets.
    from console.selectors import ticket_history

    assert f"Merged into {target.reference} ({counts[0]} messages moved) by {agent}" in [
        line.text for line in ticket_history(ticket=first)
    ]
    assert any(
        line.text.startswith(f"Merged in {first.reference}, {second.reference}")
        for line in ticket_history(ticket=target)
    )


def test_the_reply_clock_follows_the_oldest_unanswered_message():
    buyer, agent = BuyerFactory(), AgentFactory()
    source = _open(buyer, "Charged twice.")
    target = _open(buyer, "Charged twice, again.")
    written = _age(source, 5)
    before = target.first_reply_due_at
    assert before is not None

    tickets_merge(target=target, sources=[source], actor=agent)

    target.refresh_from_db()
    live = SlaClock.objects.get(ticket=target, status=ClockStatus.RUNNING)
    assert live.started_at == written
    assert target.first_reply_due_at == live.due_at
    assert target.first_reply_due_at < before
    # The source owes nothing any more, and its deadline is gone.
    source.refresh_from_db()
    assert not SlaClock.objects.filter(
        ticket=source, status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED]
    ).exists()
    assert source.first_reply_due_at is None


def test_a_duplicate_already_answered_on_the_target_adds_no_deadline():
    buyer, agent = BuyerFactory(), AgentFactory()
    source = _open(buyer, "Charged twice.")
    target = _open(buyer, "Charged twice, again.")
    _age(source, 5)
    _age(target, 4)
    services.ticket_reply(
        ticket=target, author=agent, body="Refunded.", status=TicketStatus.PENDING
    )

    tickets_merge(target=target, sources=[source], actor=agent)

    target.refresh_from_db()
    assert target.status == TicketStatus.PENDING
    assert (target.first_reply_due_at, target.next_reply_due_at) == (None, None)


def test_an_unanswered_duplicate_reopens_a_waiting_target_with_a_next_reply_clock():
    buyer, agent = BuyerFactory(), AgentFactory()
    target = _open(buyer, "Charged twice.")
    _age(target, 5)
    services.ticket_reply(
        ticket=target, author=agent, body="Refunded.", status=TicketStatus.PENDING
    )
    source = _open(buyer, "The refund is not there.")

    tickets_merge(target=target, sources=[source], actor=agent)

    target.refresh_from_db()
    assert target.status == TicketStatus.OPEN
    assert target.next_reply_due_at is not None


def test_merging_is_for_agents_and_one_requester_only():
    buyer, other, agent = BuyerFactory(), BuyerFactory(), AgentFactory()
    target = _open(buyer, "Charged twice.")
    source = _open(buyer, "Charged twice again.")
    stranger = _open(other, "Charged twice too.")
    with pytest.raises(MergeRefused, match="support team"):
        tickets_merge(target=target, sources=[source], actor=buyer)
    with pytest.raises(MergeRefused, match="different requesters"):
        tickets_merge(target=target, sources=[stranger], actor=agent)
    with pytest.raises(MergeRefused, match="into itself"):
        tickets_merge(target=target, sources=[target], actor=agent)
    # Nothing moved.
    assert stranger.messages.filter(direction="in").count() == 1
    assert source.messages.filter(direction="in").count() == 1
    assert merge_candidates(ticket=target) == [source]
    preview = merge_preview(target=target, sources=[source], actor=agent)
    assert (preview.messages, preview.attachments) == (source.messages.count(), 0)
    tickets_merge(target=target, sources=[source], actor=agent)
    with pytest.raises(MergeRefused, match="already merged"):
        tickets_merge(target=target, sources=[source], actor=agent)


def test_merging_twice_keeps_pointers_one_hop_deep():
    buyer, agent = BuyerFactory(), AgentFactory()
    a, b, c = (_open(buyer, f"Charged twice ({n}).") for n in "abc")
    tickets_merge(target=b, sources=[a], actor=agent)
    tickets_merge(target=c, sources=[b], actor=agent)
    a.refresh_from_db()
    assert a.merged_into_id == c.pk
    assert c.messages.filter(direction="in").count() == 3


def test_statement_count_does_not_grow_with_messages():
    buyer, agent = BuyerFactory(), AgentFactory()

    def merge_with(messages):
        target = _open(buyer, "Charged twice.")
        source = _open(buyer, "Charged twice again.")
        for n in range(messages):
            services.ticket_customer_message(ticket=source, author=buyer, body=f"More {n}")
        with CaptureQueriesContext(connection) as queries:
            tickets_merge(target=target, sources=[source], actor=agent)
        return len(queries)

    assert merge_with(1) == merge_with(20)


def test_replies_to_the_old_email_thread_land_on_the_surviving_ticket():
    agent = AgentFactory()
    old = ingest_raw(raw=mail(subject="Charged twice")).ticket
    target = ingest_raw(
        raw=mail(subject="Refund please", message_id="<m2@example.com>", body="Refund me.")
    ).ticket
    assert old.pk != target.pk
    tickets_merge(target=target, sources=[old], actor=agent)

    by_header = ingest_raw(
        raw=mail(message_id="<m3@example.com>", subject="Re: x", In_Reply_To="<m1@example.com>")
    )
    by_token = ingest_raw(
        raw=mail(message_id="<m4@example.com>", subject=f"Re: Charged twice [{old.reference}]")
    )
    by_plus = ingest_raw(
        raw=mail(message_id="<m5@example.com>", subject="hi", to=f"support+{old.pk}@izonie.com")
    )
    assert {r.ticket_id for r in (by_header, by_token, by_plus)} == {target.pk}
    assert Ticket.objects.count() == 2
    assert target.messages.filter(direction="in").count() == 5


def test_the_portal_leads_the_old_address_to_the_surviving_request(client):
    buyer, agent = BuyerFactory(), AgentFactory()
    old = _open(buyer, "Charged twice.")
    target = _open(buyer, "Charged twice, again.")
    tickets_merge(target=target, sources=[old], actor=agent)
    client.force_login(buyer)

    response = client.get(reverse("portal:request", args=[old.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:request", args=[target.pk])
    page = response.content.decode()
    assert f"{old.reference} is now part of {target.reference}" in page
    assert "Charged twice." in page and "Charged twice, again." in page
    # A reply from a tab opened before the merge lands on the surviving request.
    client.post(reverse("portal:request", args=[old.pk]), {"body": "Any news?"})
    assert target.messages.filter(body_text="Any news?").exists()
    # One conversation in the list.
    listing = client.get(reverse("portal:requests")).content.decode()
    assert target.reference in listing and old.reference not in listing


def test_an_open_escalation_follows_the_conversation():
    from sla.models import Escalation
    from tickets.escalation import escalation_request

    buyer, agent = BuyerFactory(), AgentFactory()
    source = _open(buyer, "Charged twice.")
    target = _open(buyer, "Charged twice, again.")
    escalation, _created = escalation_request(
        ticket=source, requested_by=buyer, channel=Channel.WEB_FORM, reason="Nobody answers"
    )
    tickets_merge(target=target, sources=[source], actor=agent)
    assert Escalation.objects.get(pk=escalation.pk).ticket_id == target.pk
