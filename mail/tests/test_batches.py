"""Many mails in one transaction (``ingest_many``: the ingest_mail command and each IMAP
group): each still stands alone, and the batch costs a few look-ups, not a few per mail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from mail import intake
from mail.intake import ingest_many
from mail.models import EmailReference, InboundEmail, InboundStatus
from mail.tests.test_intake import mail
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def test_one_bad_mail_in_a_batch_is_quarantined_alone(monkeypatch):
    real_acknowledgement = intake.acknowledgement_send

    def fails_for_one_sender(*, ticket, **options):
        if ticket.requester.email == "broken@example.com":
            raise RuntimeError("the outbox is full")
        return real_acknowledgement(ticket=ticket, **options)

    monkeypatch.setattr(intake, "acknowledgement_send", fails_for_one_sender)
    raws = [
        mail(message_id="<a@example.com>"),
        mail(sender="broken@example.com", message_id="<b@example.com>"),
        b"Subject: no sender at all\r\n\r\nbody",
        mail(message_id="<c@example.com>", In_Reply_To="<a@example.com>"),
        mail(sender="other@example.com", message_id="<d@example.com>"),
    ]
    records = ingest_many(raws)
    assert [r.status for r in records] == [
        InboundStatus.PROCESSED,
        InboundStatus.QUARANTINED,
        InboundStatus.QUARANTINED,
        InboundStatus.PROCESSED,
        InboundStatus.PROCESSED,
    ]
    assert "RuntimeError: the outbox is full" in records[1].reason
    assert "From" in records[2].reason
    # The failed mail left nothing behind (not even its new customer) but its raw bytes;
    # the mails around it were stored, the reply on its original's ticket.
    assert not User.objects.filter(email="broken@example.com").exists()
    assert records[3].ticket == records[0].ticket
    assert Ticket.objects.count() == 2
    assert [bytes(r.raw) for r in InboundEmail.objects.order_by("pk")] == raws


def test_a_batch_threads_mail_on_mail_earlier_in_the_same_batch():
    records = ingest_many(
        [
            # The second reply overtook the original, the first reply follows it.
            mail(message_id="<r2@example.com>", References="<o@example.com> <r1@example.com>"),
            mail(message_id="<o@example.com>"),
            mail(message_id="<r1@example.com>", In_Reply_To="<o@example.com>"),
            mail(message_id="<o@example.com>"),  # delivered twice
        ]
    )
    assert [r.status for r in records] == [
        InboundStatus.PROCESSED,
        InboundStatus.PROCESSED,
        InboundStatus.PROCESSED,
        InboundStatus.DUPLICATE,
    ]
    ticket = Ticket.objects.get()
    assert {r.ticket for r in records} == {ticket}
    assert ticket.messages.filter(direction="in").count() == 3
    assert records[3].message == Message.objects.get(external_id="o@example.com")
    # The second reply's references were kept, for an original still to come.
    assert EmailReference.objects.filter(referenced_id="r1@example.com").exists()


def test_a_later_batch_threads_by_subject_token_and_plus_address():
    ticket = ingest_many([mail()])[0].ticket
    records = ingest_many(
        [
            mail(message_id="<t@example.com>", subject=f"Re: [{ticket.reference}] any news?"),
            mail(message_id="<p@example.com>", to=f"support+{ticket.pk}@izonie.com"),
            # Someone else's mail naming the ticket does not join it.
            mail(
                sender="stranger@example.com",
                message_id="<s@example.com>",
                subject=f"Re: [{ticket.reference}]",
            ),
        ]
    )
    assert [r.ticket == ticket for r in records] == [True, True, False]


def test_the_look_ups_of_a_batch_do_not_grow_with_its_size():
    ingest_many([mail()])
    replies = [
        mail(message_id=f"<r{n}@example.com>", In_Reply_To="<m1@example.com>") for n in range(10)
    ]
    with CaptureQueriesContext(connection) as queries:
        records = ingest_many(replies)
    assert {r.status for r in records} == {InboundStatus.PROCESSED}

    def count(fragment: str) -> int:
        return sum(1 for q in queries.captured_queries if fragment in q["sql"])

    # One look-up each for the batch, one multi-row INSERT for its records and references.
    assert count('FROM "mail_emailreference"') == 1
    assert count('FROM "tickets_message"') == 1  # the stored Message-IDs
    assert count('INSERT INTO "mail_inboundemail"') == 1
    assert count('INSERT INTO "mail_emailreference"') == 1
    # No savepoint per mail when all goes through (the ticket services may take their own).
    assert count("SAVEPOINT") - count("RELEASE SAVEPOINT") <= len(replies) + 2
