"""``core.rows_select``: a select compiled once gives what the ORM gives, on both engines."""

from __future__ import annotations

import datetime as dt
import gc
import threading
import weakref

import pytest
from django.db import connection, connections, models, transaction
from django.db.models.sql.compiler import SQLCompiler
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from core.rows_select import One, Select
from tickets.models import Ticket, TicketEvent
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

tickets_with_people = Select(
    lambda ids, statuses: (
        Ticket.objects.select_related("requester", "assignee")
        .filter(pk__any=ids, status__any=statuses)
        .order_by("-pk")
    )
)
events_of = Select(
    lambda tickets: TicketEvent.objects.filter(ticket_id__any=tickets).order_by("pk")
)
locked = Select(lambda ids: Ticket.objects.select_for_update(no_key=True).filter(pk__any=ids))


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_objects_are_the_orms_related_ones_included():
    agent = AgentFactory()
    due = timezone.now() + dt.timedelta(hours=5)
    mine = TicketFactory(assignee=agent, status="open", first_reply_due_at=due)
    nobodys = TicketFactory(status="new")
    TicketFactory(status="closed")  # not asked for
    ids = [t.pk for t in Ticket.objects.all()]

    got = tickets_with_people(ids=ids, statuses=["open", "new"])
    expected = list(
        Ticket.objects.select_related("requester", "assignee")
        .filter(pk__in=ids, status__in=["open", "new"])
        .order_by("-pk")
    )
    assert [t.pk for t in got] == [nobodys.pk, mine.pk]
    assert [_fields(t) for t in got] == [_fields(t) for t in expected]
    assert got[1].first_reply_due_at == due and got[1].reply_due_at == due
    with CaptureQueriesContext(connection) as queries:
        # Filled from the same row: no query for the related objects.
        assert got[1].assignee == agent and got[1].assignee.email == agent.email
        assert got[0].assignee is None
        assert got[0].requester.email == nobodys.requester.email
    assert queries.captured_queries == []
    assert got[0]._state.adding is False and got[0]._state.db == "default"


def test_converted_values_come_back_as_the_orm_converts_them():
    ticket = TicketFactory()
    TicketEvent.objects.create(ticket=ticket, kind="status_changed", data={"from": "new", "n": 2})
    got = events_of(tickets=[ticket.pk])
    expected = list(TicketEvent.objects.filter(ticket=ticket).order_by("pk"))
    assert [model_to_dict(e) for e in got] == [model_to_dict(e) for e in expected]
    assert got[-1].data == {"from": "new", "n": 2}


def test_no_values_finds_nothing_and_the_statement_does_not_grow():
    tickets = [TicketFactory() for _ in range(30)]
    assert tickets_with_people(ids=[], statuses=["new"]) == []
    sent: list[tuple[str, int]] = []

    def seen(execute, sql, params, many, context):
        sent.append((sql, len(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(seen):
        one = tickets_with_people(ids=[tickets[0].pk], statuses=["new"])
        many = tickets_with_people(ids=[t.pk for t in tickets], statuses=["new", "open"])
    assert len(one) == 1 and len(many) == 30
    # The values differ, the statement and its number of parameters do not.
    assert sent[0] == sent[1]


def _compilations_counted(monkeypatch) -> list[object]:
    """The models of the querysets Django compiles from now on (a spy on the compiler)."""
    compiled: list[object] = []
    real_as_sql = SQLCompiler.as_sql

    def counting_as_sql(self, *args, **kwargs):
        compiled.append(self.query.model)
        return real_as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting_as_sql)
    return compiled


def test_it_is_compiled_once(monkeypatch):
    ticket = TicketFactory()
    expected = list(ticket.events.order_by("pk"))
    assert events_of(tickets=[ticket.pk]) == expected  # compiled here, if not before
    compiled = _compilations_counted(monkeypatch)
    for _ in range(3):
        assert events_of(tickets=[ticket.pk]) == expected
    assert compiled == []


def test_a_locking_select_runs_in_a_transaction():
    ticket = TicketFactory()
    with transaction.atomic():
        (row,) = locked(ids=[ticket.pk])
    assert row.pk == ticket.pk


def test_the_any_lookup_works_as_a_plain_lookup_too():
    first, second = TicketFactory(status="open"), TicketFactory(status="pending")
    assert set(Ticket.objects.filter(status__any=["open", "pending"])) == {first, second}
    assert list(Ticket.objects.filter(pk__any=[])) == []
    with pytest.raises(TypeError, match="list of values"):
        list(Ticket.objects.filter(status__any="open"))


def test_a_slot_outside_an_any_lookup_is_refused():
    by_status = Select(lambda status: Ticket.objects.filter(pk__any=[1], status=status))
    with pytest.raises((ValueError, TypeError)):
        by_status(status=["open"])
    with pytest.raises(TypeError, match="takes"):
        events_of(ids=[1])


due_before = Select(
    lambda statuses, cutoff: Ticket.objects.filter(
        status__any=statuses, first_reply_due_at__lt=One(cutoff, models.DateTimeField())
    ).order_by("pk")
)


def test_a_slot_of_one_value_compares_as_the_orm_and_keeps_its_statement(monkeypatch):
    now = timezone.now()
    soon = TicketFactory(status="open", first_reply_due_at=now + dt.timedelta(minutes=5))
    later = TicketFactory(status="open", first_reply_due_at=now + dt.timedelta(hours=5))
    TicketFactory(status="closed", first_reply_due_at=now)  # not asked for
    sent: list[tuple[str, int]] = []

    def seen(execute, sql, params, many, context):
        sent.append((sql, len(params)))
        return execute(sql, params, many, context)

    for cutoff, expected in (
        (now, []),
        (now + dt.timedelta(hours=1), [soon]),
        (now + dt.timedelta(days=1), [soon, later]),
    ):
        orm = list(
            Ticket.objects.filter(status__in=["open"], first_reply_due_at__lt=cutoff).order_by("pk")
        )
        with connection.execute_wrapper(seen):
            got = due_before(statuses=["open"], cutoff=cutoff)
        assert got == orm == expected
    # Compiled once: the same statement for every cut-off.
    assert len(set(sent)) == 1
    compiled = _compilations_counted(monkeypatch)
    assert due_before(statuses=["open"], cutoff=now + dt.timedelta(days=1)) == [soon, later]
    assert compiled == []
    with pytest.raises(TypeError, match="slot"):
        One(now, models.DateTimeField())  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_threads_share_one_compiled_select_and_it_keeps_not_their_connections(monkeypatch):
    """Under ASGI every request runs on a new thread with a connection of its own: the
    select is compiled once for all of them, and the threads' connections are not kept."""
    ticket = TicketFactory()
    events = ticket.events.count()
    fresh = Select(lambda tickets: TicketEvent.objects.filter(ticket_id__any=tickets))
    compiled = _compilations_counted(monkeypatch)
    seen: list[tuple[int, weakref.ref]] = []

    def request() -> None:
        try:
            found = fresh(tickets=[ticket.pk])
            seen.append((len(found), weakref.ref(connections["default"])))
        finally:
            connections.close_all()

    for _ in range(3):
        thread = threading.Thread(target=request)
        thread.start()
        thread.join()
    gc.collect()
    assert [count for count, _ref in seen] == [events] * 3
    assert compiled.count(TicketEvent) == 1
    # At most the connection that compiled it stays (its operations convert values on
    # SQLite); before, every thread's did, with everything it held.
    assert sum(ref() is not None for _count, ref in seen) <= 1


def test_annotations_come_back_as_the_orms_attributes():
    """Counts, subqueries, ``Exists`` and ``Coalesce`` over them, as the chat desk's
    lists annotate their rows (converted as the ORM converts them)."""
    from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
    from django.db.models.functions import Coalesce

    from tickets.models import Message

    def annotated(tickets):
        latest = Message.objects.filter(ticket=OuterRef("pk")).order_by("-created_at", "-pk")
        return (
            tickets.select_related("requester")
            .annotate(
                last_body=Subquery(latest.values("body_text")[:1]),
                last_at=Subquery(latest.values("created_at")[:1]),
                messages_in=Count("messages", filter=Q(messages__direction="in")),
                events_n=Coalesce(
                    Subquery(
                        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind="none")
                        .values("ticket")
                        .annotate(n=Count("pk"))
                        .values("n")
                    ),
                    Value(0),
                    output_field=IntegerField(),
                ),
                assigned=Exists(Ticket.objects.filter(pk=OuterRef("pk"), assignee__isnull=False)),
            )
            .order_by("-pk")
        )

    with_annotations = Select(lambda ids: annotated(Ticket.objects.filter(pk__any=ids)))
    agent = AgentFactory()
    talked = TicketFactory(assignee=agent)
    Message.objects.create(ticket=talked, direction="in", body_text="Where is it?")
    Message.objects.create(ticket=talked, direction="out", body_text="On its way.")
    quiet = TicketFactory()
    quiet.messages.all().delete()
    ids = [talked.pk, quiet.pk]

    got = with_annotations(ids=ids)
    expected = list(annotated(Ticket.objects.filter(pk__in=ids)))
    names = ("last_body", "last_at", "messages_in", "events_n", "assigned")
    assert [[getattr(t, n) for n in names] for t in got] == [
        [getattr(t, n) for n in names] for t in expected
    ]
    assert got[1].last_body == "On its way." and got[1].messages_in >= 1
    assert got[1].assigned is True and got[0].assigned is False and got[0].last_at is None
    assert got[1].last_at.tzinfo is not None and got[1].requester == talked.requester
