"""Many mails in one transaction (``ingest_many``: the ingest_mail command and each IMAP
group): each still stands alone, and the batch costs a few look-ups, not a few per mail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from conftest import png_bytes
from mail import intake
from mail.intake import ingest_many
from mail.models import (
    AutoAcknowledgement,
    EmailReference,
    EmailTicketLink,
    InboundEmail,
    InboundStatus,
)
from mail.tests.test_intake import mail
from reports.models import DirtyTicket
from tickets.choices import EventKind, PartyRole
from tickets.models import Attachment, Message, Party, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_one_bad_mail_in_a_batch_is_quarantined_alone(monkeypatch):
    real_acknowledgement = intake.acknowledgement_text

    def fails_for_one_sender(*, ticket, **options):
        if ticket.requester.email == "broken@example.com":
            raise RuntimeError("the outbox is full")
        return real_acknowledgement(ticket=ticket, **options)

    monkeypatch.setattr(intake, "acknowledgement_text", fails_for_one_sender)
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


def test_the_acknowledgements_of_a_batch_are_written_together():
    def batch_of(first: int, size: int) -> tuple[list[InboundEmail], dict[str, int]]:
        raws = [
            mail(sender=f"Buyer {n} <buyer{n}@example.com>", message_id=f"<n{n}@example.com>")
            for n in range(first, first + size)
        ]
        with CaptureQueriesContext(connection) as queries:
            records = ingest_many(raws)
        fragments = [
            'INSERT INTO "tickets_message"',
            'INSERT INTO "tickets_outboundmessage"',
            'INSERT INTO "tickets_ticketevent"',
            'UPDATE "tickets_ticket"',
            # A new customer's address looked up again (the batch read the addresses):
            # email__iexact on SQLite, then on PostgreSQL.
            '"accounts_user"."email" LIKE',
            'UPPER("accounts_user"."email"',
        ]
        return records, {
            f: sum(1 for q in queries.captured_queries if f in q["sql"]) for f in fragments
        }

    _few, few = batch_of(0, 2)
    records, many = batch_of(2, 6)
    assert many == few
    assert many['"accounts_user"."email" LIKE'] == many['UPPER("accounts_user"."email"'] == 0
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    acknowledged = AutoAcknowledgement.objects.filter(ticket__in=[r.ticket for r in records])
    assert acknowledged.count() == 6
    for acknowledgement in acknowledged.select_related("ticket__requester", "message"):
        ticket = acknowledgement.ticket
        assert acknowledgement.recipient == ticket.requester.email
        assert ticket.reference in acknowledgement.message.body_text
        assert ticket.message_count == ticket.messages.count()  # the acknowledgement counted
        assert acknowledgement.message.outbound.channel == "email"


def poison_messages_containing(word: str) -> None:
    """A real database refusal for one mail: a trigger that rejects any message whose
    text contains ``word``, as a constraint would (no part of the code is replaced)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TEMP TRIGGER poison BEFORE INSERT ON tickets_message "
                f"WHEN NEW.body_text LIKE '%{word}%' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned row refused'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.body_text LIKE '%{word}%' THEN "
                "RAISE EXCEPTION 'poisoned row refused' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON tickets_message "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )


def test_a_mail_the_database_refuses_is_set_aside_and_the_rest_stored_once():
    ingest_many([mail(message_id="<old@example.com>")])
    poison_messages_containing("POISON")
    raws = [mail(sender=f"c{n}@example.com", message_id=f"<n{n}@example.com>") for n in range(4)]
    raws.insert(2, mail(sender="bad@example.com", message_id="<bad@example.com>", body="POISON"))
    # A reply on an existing ticket and one on a ticket opened in this batch.
    raws.append(mail(message_id="<r1@example.com>", In_Reply_To="<old@example.com>"))
    raws.append(
        mail(sender="c0@example.com", message_id="<r2@example.com>", In_Reply_To="<n0@example.com>")
    )
    records = ingest_many(raws)

    statuses = [r.status for r in records]
    assert (
        statuses
        == [InboundStatus.PROCESSED] * 2
        + [InboundStatus.QUARANTINED]
        + [InboundStatus.PROCESSED] * 4
    )
    assert "poisoned row refused" in records[2].reason
    assert not Message.objects.filter(external_id="bad@example.com").exists()
    # Every other mail stored once, on the ticket it belongs to.
    for raw_id in ["n0", "n1", "n2", "n3", "r1", "r2"]:
        assert Message.objects.filter(external_id=f"{raw_id}@example.com").count() == 1
    assert records[5].ticket == Message.objects.get(external_id="old@example.com").ticket
    assert records[6].ticket == records[0].ticket
    assert Ticket.objects.count() == 1 + 4
    assert InboundEmail.objects.count() == 1 + len(raws)


def test_a_batch_delivered_twice_is_stored_once():
    raws = [
        mail(sender=f"c{n}@example.com", message_id=f"<d{n}@example.com>") for n in range(3)
    ] + [
        mail(sender="c0@example.com", message_id="<d9@example.com>", In_Reply_To="<d0@example.com>")
    ]
    first = ingest_many(raws)
    again = ingest_many(raws)  # the IMAP group fetched again after a crash before marking
    assert {r.status for r in first} == {InboundStatus.PROCESSED}
    assert {r.status for r in again} == {InboundStatus.DUPLICATE}
    assert [r.message for r in again] == [r.message for r in first]
    assert Ticket.objects.count() == 3
    assert Message.objects.filter(direction="in").count() == 4


def test_a_crash_after_the_batch_commits_loses_no_follow_up_work(
    django_capture_on_commit_callbacks,
):
    """The batch commits its tickets, acknowledgements and SLA clocks; the process dies
    before any on-commit hook runs. The write path's task rows committed with the batch
    (every SLA timer is there); the sweep queues what was left to a hook (the mail
    acknowledgements' deliveries), each once."""
    import datetime as dt

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from core.sweeper import follow_up_sweep
    from sla.models import ClockStatus, SlaClock
    from tickets.models import OutboundMessage

    raws = [mail(sender=f"c{n}@example.com", message_id=f"<k{n}@example.com>") for n in range(5)]
    with django_capture_on_commit_callbacks(execute=False):
        records = ingest_many(raws)
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    outbox = OutboundMessage.objects.filter(message__ticket__in=[r.ticket for r in records])
    clocks = SlaClock.objects.filter(
        ticket__in=[r.ticket for r in records], status=ClockStatus.RUNNING
    )
    assert outbox.exists() and clocks.count() >= len(raws)

    def queued(suffix: str, key: str) -> list[int]:
        rows = DBTaskResult.objects.values_list("task_path", "args_kwargs")
        return sorted(k["kwargs"][key] for p, k in rows if p.endswith(suffix))

    assert queued("sla_clock_fire", "clock_id") == sorted(clocks.values_list("pk", flat=True))
    delivered_at_commit = len(queued("deliver_outbound", "outbound_id"))
    outbox.update(created_at=long_ago)
    clocks.update(started_at=long_ago, segment_started_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        found = follow_up_sweep(grace=dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        again = follow_up_sweep(grace=dt.timedelta(minutes=1))

    assert (found.outbox, found.sla_clocks) == (outbox.count() - delivered_at_commit, 0)
    assert (again.outbox, again.sla_clocks) == (0, 0)
    assert queued("deliver_outbound", "outbound_id") == sorted(outbox.values_list("pk", flat=True))


def test_a_ticket_number_named_in_the_same_batch_is_found():
    # The fetcher was down: the customer's reply to our acknowledgement (subject token,
    # plus-address) arrives in the same group as the mail that opened the ticket.
    first = ingest_many([mail(message_id="<x0@example.com>")])[0].ticket
    number = first.pk + 1
    records = ingest_many(
        [
            mail(sender="new@example.com", message_id="<x1@example.com>"),
            mail(
                sender="new@example.com",
                message_id="<x2@example.com>",
                subject=f"Re: [IZS-{number}] Cannot sign in",
            ),
            mail(
                sender="new@example.com",
                message_id="<x3@example.com>",
                to=f"support+{number}@izonie.com",
            ),
        ]
    )
    assert records[0].ticket.pk == number
    assert [r.ticket for r in records] == [records[0].ticket] * 3


def threads(count: int, *, first: int = 0) -> list[bytes]:
    """``count`` conversations, one after another, each from its own customer: an
    original, the reply to it and the reply to that (o0 r0 rr0 o1 r1 rr1 ...)."""
    raws: list[bytes] = []
    for n in range(first, first + count):
        sender = f"Buyer {n} <buyer{n}@example.com>"
        raws.append(mail(sender=sender, message_id=f"<o{n}@example.com>"))
        raws.append(
            mail(
                sender=sender,
                message_id=f"<r{n}@example.com>",
                In_Reply_To=f"<o{n}@example.com>",
                body=f"Reply {n}.",
            )
        )
        raws.append(
            mail(
                sender=sender,
                message_id=f"<rr{n}@example.com>",
                In_Reply_To=f"<r{n}@example.com>",
                References=f"<o{n}@example.com> <r{n}@example.com>",
                body=f"Reply to reply {n}.",
            )
        )
    return raws


def test_a_batch_is_written_in_one_round_per_generation_of_replies():
    def rounds_of(count: int, first: int) -> dict[str, int]:
        with CaptureQueriesContext(connection) as queries:
            records = ingest_many(threads(count, first=first))
        assert {r.status for r in records} == {InboundStatus.PROCESSED}
        starts = ['INSERT INTO "tickets_ticket"', 'INSERT INTO "tickets_message"', "SAVEPOINT"]
        sql = [q["sql"] for q in queries.captured_queries]
        return {start: sum(1 for s in sql if s.startswith(start)) for start in starts}

    ingest_many([mail(message_id="<warm-up@example.com>")])  # the first batch's one-offs
    few, many = rounds_of(2, first=0), rounds_of(6, first=2)
    # Originals, then replies, then replies to replies: three rounds whatever the number
    # of conversations (before, each reply started a round: 2 per conversation, and 1).
    assert many == few
    assert few['INSERT INTO "tickets_ticket"'] == 1
    # The first messages, the order-number requests and the acknowledgements, then one
    # INSERT per round of replies.
    assert few['INSERT INTO "tickets_message"'] == 5
    # The batch's two, and one per round for the write path's transaction.
    assert few["SAVEPOINT"] == 2 + 3
    for n in range(8):
        ticket = Ticket.objects.get(messages__external_id=f"o{n}@example.com")
        assert list(
            ticket.messages.filter(direction="in").values_list("external_id", flat=True)
        ) == [f"o{n}@example.com", f"r{n}@example.com", f"rr{n}@example.com"]


def test_a_ticket_gets_the_mails_of_a_batch_in_the_order_they_arrived():
    # given a ticket whose requester copied a colleague
    old = ingest_many(
        [mail(message_id="<old@example.com>", Cc="Colleague <colleague@example.com>")]
    )[0].ticket
    # when the requester's reply, the reply to it and the colleague's reply to the first
    # mail come in one batch
    records = ingest_many(
        [
            mail(message_id="<x@example.com>", In_Reply_To="<old@example.com>", body="One."),
            mail(message_id="<y@example.com>", In_Reply_To="<x@example.com>", body="Two."),
            mail(
                sender="Colleague <colleague@example.com>",
                message_id="<z@example.com>",
                In_Reply_To="<old@example.com>",
                body="Three.",
            ),
        ]
    )
    # then the colleague's reply, which depends on nothing in the batch, still comes
    # after the reply to the reply that arrived before it
    assert {r.ticket for r in records} == {old}
    assert list(old.messages.filter(direction="in").values_list("external_id", flat=True)) == [
        "old@example.com",
        "x@example.com",
        "y@example.com",
        "z@example.com",
    ]


def test_the_tickets_of_a_batch_are_numbered_in_the_order_the_mails_arrived():
    records = ingest_many(
        [
            mail(message_id="<o@example.com>"),
            # A stranger answering the first mail: a ticket of their own, linked. It
            # waits for the first mail's round, and so does the new request after it.
            mail(
                sender="stranger@example.com",
                message_id="<s@example.com>",
                In_Reply_To="<o@example.com>",
            ),
            mail(sender="other@example.com", message_id="<n@example.com>"),
        ]
    )
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    numbers = [r.ticket.pk for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert EmailTicketLink.objects.get().linked_to == records[0].ticket


def test_a_poisoned_reply_in_a_batch_of_rounds_is_set_aside_alone():
    poison_messages_containing("POISON")
    raws = threads(3)
    raws[4] = mail(  # r1
        sender="Buyer 1 <buyer1@example.com>",
        message_id="<r1@example.com>",
        In_Reply_To="<o1@example.com>",
        body="POISON",
    )
    records = ingest_many(raws)
    statuses = [r.status for r in records]
    assert statuses[4] == InboundStatus.QUARANTINED
    assert statuses[:4] + statuses[5:] == [InboundStatus.PROCESSED] * 8
    assert "poisoned row refused" in records[4].reason
    # The reply to the refused mail still finds its conversation by its References.
    assert records[5].ticket == records[3].ticket
    assert list(
        records[3].ticket.messages.filter(direction="in").values_list("external_id", flat=True)
    ) == ["o1@example.com", "rr1@example.com"]
    assert Ticket.objects.count() == 3


def test_a_sender_flagged_in_a_batch_is_blocked_as_if_mail_came_one_by_one():
    abusive = "You are a f*cking idiot"
    raws = [
        mail(message_id=f"<a{n}@example.com>", body=f"{abusive}, number {n}.") for n in range(3)
    ]
    raws.append(mail(message_id="<after@example.com>", body="Where is my order?"))
    records = ingest_many(raws)
    # The third flag blocks new conversations on email (policies/izonie.yaml, repeat):
    # the mail after it is refused, as it would be had each mail come alone.
    assert [r.status for r in records] == [InboundStatus.PROCESSED] * 3 + [InboundStatus.IGNORED]
    assert "blocked for conduct" in records[3].reason


def test_the_new_customers_of_a_batch_are_made_in_one_insert():
    # given an account with the user name the first new address would get
    ingest_many([mail(sender="ada@example.org", message_id="<first@example.com>")])
    raws = [
        mail(sender=f"ada@{domain}", message_id=f"<{domain}@example.com>")
        for domain in ("example.net", "example.com", "example.ng")
    ] + [mail(sender="ada@example.net", message_id="<again@example.com>", subject="Also")]
    # when a batch comes from three new addresses (one twice) with the same local part
    with CaptureQueriesContext(connection) as queries:
        records = ingest_many(raws)
    # then one INSERT makes them, with the names one after another would have got
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "accounts_user"' in q["sql"]]
    assert len(inserts) == 1
    assert [r.ticket.requester.username for r in records] == ["ada2", "ada3", "ada4", "ada2"]
    assert User.objects.filter(email="ada@example.net").count() == 1


def test_the_copied_parties_of_a_batch_cost_what_one_mails_cost():
    def batch_of(first: int, size: int) -> dict[str, int]:
        raws = [
            mail(
                sender=f"buyer{n}@example.com",
                message_id=f"<c{n}@example.com>",
                Cc=f"Friend <friend{n}@example.com>, Partner <partner{n}@example.com>",
            )
            for n in range(first, first + size)
        ]
        # A reply in the same batch copies one of them again and someone new.
        raws.append(
            mail(
                sender=f"buyer{first}@example.com",
                message_id=f"<c{first}-again@example.com>",
                In_Reply_To=f"<c{first}@example.com>",
                Cc=f"friend{first}@example.com, Boss <boss{first}@example.com>",
            )
        )
        with CaptureQueriesContext(connection) as queries:
            records = ingest_many(raws)
        assert {r.status for r in records} == {InboundStatus.PROCESSED}
        ticket = records[0].ticket
        assert records[-1].ticket == ticket
        assert list(
            Party.objects.filter(ticket=ticket, role=PartyRole.CC)
            .order_by("pk")
            .values_list("name", "email")
        ) == [
            ("Friend", f"friend{first}@example.com"),
            ("Partner", f"partner{first}@example.com"),
            ("Boss", f"boss{first}@example.com"),
        ]
        return {
            fragment: sum(1 for q in queries.captured_queries if fragment in q["sql"])
            for fragment in ['INSERT INTO "tickets_party"', 'FROM "tickets_party"']
        }

    ingest_many([mail(message_id="<warm-up@example.com>")])
    assert batch_of(0, 1) == batch_of(1, 5)


def test_the_attachments_of_a_batch_cost_what_one_mails_cost():
    """Kept and refused attachments are each one INSERT per batch, whatever the number of
    mails and files (one INSERT per file before)."""

    def batch_of(first: int, size: int) -> dict[str, int]:
        raws = [
            mail(
                sender=f"buyer{n}@example.com",
                message_id=f"<a{n}@example.com>",
                attachments=[
                    ("photo.png", png_bytes(), "image", "png"),
                    ("label.png", png_bytes(color="blue"), "image", "png"),
                    ("virus.exe", b"MZ\x90\x00" * 50, "application", "octet-stream"),
                ],
            )
            for n in range(first, first + size)
        ]
        # A reply in the same batch, with a photo and a refused file of its own.
        raws.append(
            mail(
                sender=f"buyer{first}@example.com",
                message_id=f"<a{first}-again@example.com>",
                In_Reply_To=f"<a{first}@example.com>",
                attachments=[
                    ("again.png", png_bytes(), "image", "png"),
                    ("again.exe", b"MZ\x90\x00" * 50, "application", "octet-stream"),
                ],
            )
        )
        with CaptureQueriesContext(connection) as queries:
            records = ingest_many(raws)
        assert {r.status for r in records} == {InboundStatus.PROCESSED}
        for record in records[:-1]:
            rows = {a.filename: a for a in Attachment.objects.filter(message=record.message)}
            assert rows.keys() == {"photo.png", "label.png", "virus.exe"}
            assert rows["photo.png"].kept and rows["label.png"].kept
            assert rows["label.png"].file.read() == png_bytes(color="blue")
            assert not rows["virus.exe"].kept and "not a photo" in rows["virus.exe"].not_kept_reason
        reply = Attachment.objects.filter(message=records[-1].message)
        assert sorted(reply.values_list("filename", "kept")) == [
            ("again.exe", False),
            ("again.png", True),
        ]
        return {
            fragment: sum(1 for q in queries.captured_queries if fragment in q["sql"])
            for fragment in ['INSERT INTO "tickets_attachment"']
        }

    ingest_many([mail(message_id="<warm-up@example.com>")])
    one, five = batch_of(0, 1), batch_of(1, 5)
    assert five == one
    assert one['INSERT INTO "tickets_attachment"'] <= 3  # kept: opened, appended; refused


def test_the_new_tickets_first_messages_are_not_read_back():
    """The write path gives each new ticket's first message (``first_messages_open``):
    a batch of new mails reads stored messages once, for the Message-IDs it knows."""
    raws = [
        mail(sender=f"buyer{n}@example.com", message_id=f"<new{n}@example.com>") for n in range(5)
    ]
    with CaptureQueriesContext(connection) as queries:
        records = ingest_many(raws)
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    reads = [q for q in queries.captured_queries if 'FROM "tickets_message"' in q["sql"]]
    assert len(reads) == 1
    for n, record in enumerate(records):
        # The customer's own message, whatever the system answered it with.
        assert record.message.direction == "in"
        assert record.message.external_id == f"new{n}@example.com"
        assert record.message.ticket == record.ticket
        assert record.ticket.requester.email == f"buyer{n}@example.com"


def test_the_events_of_a_batchs_rounds_are_written_together():
    """Originals, replies and replies to replies take three rounds of the write path; their
    events, and the reports' marks that follow them, are one INSERT each for the batch."""
    ingest_many([mail(message_id="<warm-up@example.com>")])
    with CaptureQueriesContext(connection) as queries:
        records = ingest_many(threads(3))
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(1 for s in sql if s.startswith('INSERT INTO "tickets_ticketevent"')) == 1
    assert sum(1 for s in sql if s.startswith('INSERT INTO "reports_dirtyticket"')) == 1
    tickets = {r.ticket for r in records}
    assert len(tickets) == 3
    for ticket in tickets:
        received = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.MESSAGE_IN)
        assert received.count() == 3
        assert DirtyTicket.objects.filter(ticket_id=ticket.pk).exists()


def test_a_mail_left_out_of_a_batch_leaves_no_event_behind(monkeypatch):
    """A round that fails drops its events with its rows: the batch, done again without
    the mail, records each stored mail's events once."""
    ingest_many([mail(message_id="<warm-up@example.com>")])
    poison_messages_containing("POISON")
    raws = threads(2)  # o0 r0 rr0 o1 r1 rr1: r1 fails in the second round
    raws[4] = mail(
        sender="buyer1@example.com",
        message_id="<r1@example.com>",
        In_Reply_To="<o1@example.com>",
        body="POISON",
    )
    records = ingest_many(raws)
    stored = [r for r in records if r.status == InboundStatus.PROCESSED]
    assert len(stored) == len(raws) - 1
    for record in stored:
        assert (
            TicketEvent.objects.filter(
                kind=EventKind.MESSAGE_IN, data__message_id=record.message_id
            ).count()
            == 1
        )
    assert TicketEvent.objects.filter(kind=EventKind.MESSAGE_IN).count() == len(stored) + 1
