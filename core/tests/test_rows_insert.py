"""The write path's multi-row INSERTs (core.rows_insert) store what bulk_create stores."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.rows_insert import rows_insert
from core.task_rows import PlannedTask, _rows
from tickets.choices import Channel, Direction, EventKind, MessageKind
from tickets.models import Message, Ticket, TicketEvent
from tickets.tasks import deliver_outbound
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _messages(ticket: Ticket, tag: str) -> list[Message]:
    return [
        Message(
            ticket=ticket,
            kind=MessageKind.REPLY,
            direction=Direction.INBOUND,
            author=ticket.requester,
            author_name=f"Ann {tag} {n}",
            channel=Channel.EMAIL,
            body_text=f"Where is order {n}? é ✓",
            external_id=None if n % 2 else f"<{tag}{n}@example.com>",
        )
        for n in range(3)
    ]


def _stored(model, pks, *, without=("id", "created_at")):
    rows = model.objects.filter(pk__in=pks).order_by("pk").values()
    return [{k: v for k, v in row.items() if k not in without} for row in rows]


def test_rows_read_back_as_bulk_create_writes_them():
    ticket = TicketFactory()
    before = timezone.now()
    ours = rows_insert(_messages(ticket, "a"))
    django = Message.objects.bulk_create(_messages(ticket, "b"))
    assert all(m.pk is not None and not m._state.adding for m in ours)
    assert all(m.created_at >= before for m in ours)  # auto_now_add set, as on save
    mine = _stored(Message, [m.pk for m in ours])
    theirs = _stored(Message, [m.pk for m in django])
    for row in mine + theirs:
        row["author_name"] = row["author_name"].replace(" a ", " ").replace(" b ", " ")
        row["external_id"] = (row["external_id"] or "").replace("<a", "<").replace("<b", "<")
    assert mine == theirs
    assert Message.objects.get(pk=ours[0].pk).created_at == ours[0].created_at


def test_json_values_times_and_keys_given_before():
    ticket = TicketFactory()
    events = rows_insert(
        [
            TicketEvent(ticket=ticket, kind=EventKind.CREATED, actor=None, data={"a": [1, "é"]}),
            TicketEvent(ticket=ticket, kind=EventKind.ASSIGNED, actor=None, data={}),
        ]
    )
    assert [e.data for e in TicketEvent.objects.filter(pk__in=[e.pk for e in events])] == [
        {"a": [1, "é"]},
        {},
    ]
    later = timezone.now() + dt.timedelta(minutes=5)
    rows, _others = _rows([PlannedTask(deliver_outbound, {"outbound_id": 7}, run_after=later)])
    rows_insert(rows)
    stored = DBTaskResult.objects.get(pk=rows[0].pk)  # its own key, given before
    assert stored.run_after == later
    assert stored.args_kwargs == {"args": [], "kwargs": {"outbound_id": 7}}


def test_a_related_row_saved_after_the_object_was_made_lends_its_key():
    ticket = TicketFactory()
    unsaved = Ticket(subject="x", requester=ticket.requester, channel=Channel.API)
    message = Message(
        ticket=unsaved,
        direction=Direction.INBOUND,
        author=ticket.requester,
        channel=Channel.API,
        body_text="hi",
    )
    with pytest.raises(ValueError, match="unsaved related object"):
        rows_insert([message])
    rows_insert([unsaved])
    rows_insert([message])
    assert Message.objects.get(pk=message.pk).ticket_id == unsaved.pk


def test_expressions_among_the_values_are_left_to_bulk_create():
    ticket = TicketFactory()
    [message] = _messages(ticket, "c")[:1]
    message.body_text = Value("from an expression")
    rows_insert([message])
    assert Message.objects.get(pk=message.pk).body_text == "from an expression"


def test_generated_columns_come_back_as_bulk_create_reads_them():
    requester = TicketFactory().requester
    due = timezone.now() + dt.timedelta(hours=2)

    def tickets(tag: str) -> list[Ticket]:
        return [
            Ticket(subject=f"{tag} {n}", requester=requester, channel=Channel.API, priority=p)
            for n, p in enumerate(["urgent", "low"])
        ] + [
            Ticket(
                subject=f"{tag} due",
                requester=requester,
                channel=Channel.API,
                first_reply_due_at=due,
            )
        ]

    ours, django = rows_insert(tickets("a")), Ticket.objects.bulk_create(tickets("b"))
    read = ("priority_rank", "status_rank", "reply_due_at")
    assert [[getattr(t, f) for f in read] for t in ours] == [
        [getattr(t, f) for f in read] for t in django
    ]
    stored = Ticket.objects.in_bulk([t.pk for t in ours])
    assert [[getattr(stored[t.pk], f) for f in read] for t in ours] == [
        [getattr(t, f) for f in read] for t in ours
    ]
    assert ours[2].reply_due_at == due
    # One ticket alone goes as VALUES (see DRIVER_CACHED_PARAMETERS), read back the same.
    [alone] = rows_insert(tickets("c")[2:])
    assert (alone.priority_rank, alone.reply_due_at) == (ours[2].priority_rank, due)


def test_a_row_whose_key_is_its_ticket_is_written_with_it():
    from triage.models import PredictionSource, TicketTriage

    ticket = TicketFactory()
    [record] = rows_insert([TicketTriage(ticket=ticket, source=PredictionSource.CUSTOMER)])
    assert record.pk == ticket.pk and not record._state.adding
    assert TicketTriage.objects.get(pk=ticket.pk).source == PredictionSource.CUSTOMER
    # No key and none the database makes: left to bulk_create, which refuses it as it does.
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert([TicketTriage(source=PredictionSource.CUSTOMER)])


def test_postgresql_gets_one_statement_whatever_the_number_of_rows():
    """One array per column: the statement's text is the same for 10 rows and for 500,
    so the driver never parses a text that grows with the batch (a few rows go as VALUES,
    which the driver parses once and keeps)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes rows in VALUES, split at its parameter limit")

    ticket = TicketFactory()
    texts = []
    for count in (10, 500):
        rows = [
            Message(
                ticket=ticket,
                direction=Direction.INBOUND,
                author=ticket.requester,
                channel=Channel.EMAIL,
                body_text=f"message {n} ✓",
            )
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            rows_insert(rows)
        [insert] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
        texts.append(insert)
        assert Message.objects.filter(pk__in=[m.pk for m in rows]).count() == count
        assert [m.body_text for m in Message.objects.filter(pk__in=[m.pk for m in rows])] == [
            m.body_text for m in sorted(rows, key=lambda m: m.pk)
        ]
    assert texts[0] == texts[1]
    assert "UNNEST" in texts[0]


def test_postgresql_gets_binary_columns_in_binary_arrays():
    """A BinaryField's placeholder is a plain one on PostgreSQL: a batch of raw mails goes
    as a binary array like every other column, not as hex in the statement's text (100
    mails made a statement of 1.6 MB, parsed by the driver and by the server)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mail.models import InboundEmail

    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes rows in VALUES, split at its parameter limit")

    raws = [bytes(range(256)) * 40 + str(n).encode() for n in range(30)]
    with CaptureQueriesContext(connection) as queries:
        records = rows_insert(
            [InboundEmail(raw=raw, header_id=f"m{n}") for n, raw in enumerate(raws)]
        )
    [insert] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert "UNNEST" in insert
    stored = InboundEmail.objects.filter(pk__in=[r.pk for r in records]).order_by("pk")
    assert [bytes(r.raw) for r in stored] == raws
    assert [r.header_id for r in stored] == [f"m{n}" for n in range(30)]
