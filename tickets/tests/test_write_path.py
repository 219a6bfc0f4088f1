"""The write path takes batches (issue 22): a batch costs as many statements as one item,
stores what the same items would store one by one, and sets a bad item aside alone."""

import re
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import AgentFactory, BuyerFactory
from conduct.models import ConductFlag, PhotoRequest
from conftest import png_bytes
from sla.models import ClockStatus, Escalation, SlaClock
from tickets import services
from tickets.attachments import CheckedUpload
from tickets.choices import Channel, TicketStatus
from tickets.exceptions import InvalidCategory, TicketClosed
from tickets.models import Attachment, Message, OutboundMessage, Ticket, TicketEvent
from tickets.tests.factories import TicketFactory
from tickets.write_path import (
    MessageToAppend,
    TicketToOpen,
    conversations_open,
    first_messages_open,
    messages_append,
    tickets_open,
)
from triage.models import TicketTriage

pytestmark = pytest.mark.django_db

# One of each kind a channel sends: an order question (asks for the order number), a
# return (asks for the number and photos), a technical problem (photos only), a payment
# question (least-loaded team), an insult (conduct flag and reminder) and a request for
# a supervisor (escalation).
KINDS = [
    ("order_status", "Where is my order? It is late."),
    ("returns", "The blender arrived broken, I want to send it back."),
    ("technical_support", "The app crashes when I open my orders."),
    ("payments", "I was charged twice for one order."),
    ("returns", "You are a f*cking idiot, where is my refund"),
    ("order_status", "Nobody answers. I want to escalate this to a manager."),
]


def _requests(count: int, *, kinds=KINDS) -> list[TicketToOpen]:
    return [
        TicketToOpen(
            requester=BuyerFactory(),
            channel=Channel.API,
            category=kinds[index % len(kinds)][0],
            body=kinds[index % len(kinds)][1],
        )
        for index in range(count)
    ]


# A ticket's reference and the minute a deadline falls on differ between two runs.
_VARYING = re.compile(r"IZS-\d+|, by [^(]*\(")


def _snapshot(tickets: list[Ticket]) -> list[tuple]:
    """What an agent and the reports see of each ticket, without ids and times."""
    rows = []
    for ticket in tickets:
        ticket.refresh_from_db()
        rows.append(
            (
                ticket.category,
                ticket.team,
                ticket.assignee_id is not None,
                ticket.status,
                ticket.message_count,
                ticket.first_reply_due_at is not None,
                # Sorted: messages that arrive together are stored before the answers the
                # system gives them (a conduct reminder), not in between.
                tuple(
                    sorted(
                        (direction, _VARYING.sub("~", body))
                        for direction, body in ticket.messages.values_list("direction", "body_text")
                    )
                ),
                tuple(
                    sorted(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
                ),
                tuple(
                    SlaClock.objects.filter(ticket=ticket)
                    .order_by("target_id")
                    .values_list("target_id", "status")
                ),
                OutboundMessage.objects.filter(message__ticket=ticket).count(),
                TicketTriage.objects.filter(
                    ticket=ticket, order_number_requested_at__isnull=False
                ).exists(),
                PhotoRequest.objects.filter(ticket=ticket).exists(),
                ConductFlag.objects.filter(ticket=ticket).count(),
                Escalation.objects.filter(ticket=ticket).count(),
            )
        )
    return rows


def _task_paths() -> Counter:
    """Tasks queued, but the reports' refresh: one process plans one for a whole burst."""
    return Counter(
        DBTaskResult.objects.exclude(task_path__startswith="reports.").values_list(
            "task_path", flat=True
        )
    )


def test_a_batch_stores_what_the_same_requests_store_one_by_one(
    django_capture_on_commit_callbacks,
):
    AgentFactory(teams=["customer_care"]), AgentFactory(teams=["customer_care"])
    AgentFactory(teams=["payments", "technical"])

    # given the same twelve requests, opened one by one and then in one batch
    with django_capture_on_commit_callbacks(execute=True):
        singles = [
            services.ticket_open(
                requester=item.requester,
                channel=item.channel,
                category=item.category,
                body=item.body,
            )
            for item in _requests(12)
        ]
    tasks_after_singles = _task_paths()
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        batch = [outcome.unwrap() for outcome in tickets_open(_requests(12))]

    # then every ticket has the same fields, messages, events, clocks, outbox rows,
    # requests, conduct flags and escalations, and the same tasks are queued
    assert _snapshot(batch) == _snapshot(singles)
    assert _task_paths() == tasks_after_singles
    # and assignment went round the team in turn as it would have one by one
    assert Counter(t.assignee_id for t in batch) == Counter(t.assignee_id for t in singles)


def test_messages_in_a_batch_land_as_they_would_one_by_one(django_capture_on_commit_callbacks):
    replied = timezone.now()

    def conversations() -> list[Ticket]:
        waiting = TicketFactory(status=TicketStatus.PENDING, first_replied_at=replied)
        answered = TicketFactory(status=TicketStatus.OPEN, first_replied_at=replied)
        fresh = TicketFactory(status=TicketStatus.NEW)
        return [waiting, answered, fresh]

    def items(tickets: list[Ticket]) -> list[MessageToAppend]:
        waiting, answered, fresh = tickets
        return [
            MessageToAppend(ticket=waiting, author=waiting.requester, body="Any news?"),
            MessageToAppend(ticket=answered, author=answered.requester, body="Thanks, but no."),
            MessageToAppend(ticket=answered, author=answered.requester, body="Still broken."),
            MessageToAppend(ticket=fresh, author=fresh.requester, body="You useless idiot"),
            MessageToAppend(ticket=fresh, author=fresh.requester, body="Escalate this now"),
        ]

    one_by_one, together = conversations(), conversations()
    with django_capture_on_commit_callbacks(execute=True):
        for item in items(one_by_one):
            services.ticket_customer_message(ticket=item.ticket, author=item.author, body=item.body)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = messages_append(items(together))

    assert all(outcome.error is None for outcome in outcomes)
    assert _snapshot(together) == _snapshot(one_by_one)
    # the waiting ticket came back to the team with a next-reply clock
    assert together[0].status == TicketStatus.OPEN
    assert SlaClock.objects.filter(
        ticket=together[1], status=ClockStatus.RUNNING, measure="next_reply"
    ).exists()


def _statements(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


def test_statements_per_batch_do_not_grow_with_its_size(django_assert_max_num_queries):
    """Issue 22: at most one statement per message in batches of 100. A batch costs what
    one item costs: one query per kind of look-up, one INSERT per table."""
    AgentFactory(teams=["customer_care"]), AgentFactory(teams=["payments", "technical"])
    everyday = KINDS[:4]  # no flags, no escalations: the rare steps run per item
    # one of each kind reads the team lists once (they are cached) and sets the baseline
    tickets_open(_requests(4, kinds=everyday))
    small, forty = _requests(4, kinds=everyday), _requests(40, kinds=everyday)
    hundred = _requests(100, kinds=everyday)
    baseline = _statements(lambda: tickets_open(small))
    with django_assert_max_num_queries(baseline):
        tickets_open(forty)
    with django_assert_max_num_queries(baseline):
        outcomes = tickets_open(hundred)

    assert all(outcome.error is None for outcome in outcomes)
    assert Message.objects.filter(ticket__in=[o.value for o in outcomes]).count() == 200

    answered = [TicketFactory(first_replied_at=timezone.now()) for _ in range(101)]

    def append(tickets: list[Ticket]):
        return lambda: messages_append(
            [MessageToAppend(ticket=t, author=t.requester, body="Any news?") for t in tickets]
        )

    one = _statements(append(answered[:1]))
    with django_assert_max_num_queries(one):
        append(answered[1:])()
    assert SlaClock.objects.filter(ticket__in=answered, measure="next_reply").count() == 101


def test_a_refused_item_is_answered_alone_and_the_others_are_stored():
    requests = _requests(3, kinds=KINDS[:1])
    requests[1].category = "no_such_category"

    outcomes = tickets_open(requests)

    assert isinstance(outcomes[1].error, InvalidCategory)
    assert [o.error for o in (outcomes[0], outcomes[2])] == [None, None]
    assert Ticket.objects.count() == 2


def test_a_poisoned_item_is_set_aside_and_every_other_item_is_stored_once():
    # given a batch whose third item breaks a database constraint (an email Message-ID
    # already stored by the first)
    requests = _requests(4, kinds=KINDS[:1])
    for item in requests:
        item.channel = Channel.EMAIL
    requests[0].external_id = requests[2].external_id = "<same@example.com>"

    outcomes = tickets_open(requests)

    # then the batch is retried item by item: the poisoned one alone fails
    assert [o.error is None for o in outcomes] == [True, True, False, True]
    assert isinstance(outcomes[2].error, IntegrityError)
    assert Ticket.objects.count() == 3
    assert Message.objects.filter(external_id="<same@example.com>").count() == 1


def test_a_closed_ticket_refuses_its_message_and_the_rest_of_the_batch_lands():
    closed = TicketFactory(status=TicketStatus.CLOSED)
    open_ticket = TicketFactory()

    outcomes = messages_append(
        [
            MessageToAppend(ticket=closed, author=closed.requester, body="Hello?"),
            MessageToAppend(ticket=open_ticket, author=open_ticket.requester, body="Hello?"),
        ]
    )

    assert isinstance(outcomes[0].error, TicketClosed)
    assert outcomes[1].unwrap().body_text == "Hello?"
    open_ticket.refresh_from_db()
    assert open_ticket.message_count == 2


def test_the_follow_up_tasks_commit_with_the_batch(django_capture_on_commit_callbacks):
    """One transaction per batch: the deliveries and SLA timers are written inside it, so
    they are there before any on-commit hook runs (a crash at the commit loses none), and
    the rows of a batch that fails are rolled back with it."""
    AgentFactory(teams=["customer_care"])
    requests = _requests(4, kinds=KINDS[:2])
    for item in requests:
        item.channel = Channel.EMAIL
    requests[0].external_id = requests[3].external_id = "<twice@example.com>"

    with django_capture_on_commit_callbacks(execute=False):
        outcomes = tickets_open(requests)

    stored = [o.value for o in outcomes if o.value is not None]
    assert len(stored) == 3
    outbox = OutboundMessage.objects.filter(message__ticket__in=stored)
    clocks = SlaClock.objects.filter(ticket__in=stored, status=ClockStatus.RUNNING)
    queued = DBTaskResult.objects.values_list("task_path", "args_kwargs")
    delivered = sorted(k["kwargs"]["outbound_id"] for p, k in queued if p.endswith("_outbound"))
    timed = sorted(k["kwargs"]["clock_id"] for p, k in queued if p.endswith("sla_clock_fire"))
    assert delivered == sorted(outbox.values_list("pk", flat=True)) and delivered
    assert timed == sorted(clocks.values_list("pk", flat=True)) and timed
    assert DBTaskResult.objects.count() == len(delivered) + len(timed)


def _photos(count: int) -> list[CheckedUpload]:
    uploads = []
    for index in range(count):
        content = png_bytes()
        upload = SimpleUploadedFile(f"photo-{index}.png", content, content_type="image/png")
        uploads.append(
            CheckedUpload(
                upload=upload, filename=upload.name, content_type="image/png", size=len(content)
            )
        )
    return uploads


def test_statements_do_not_grow_with_the_attachments_of_a_batch():
    """A batch's attachments are one INSERT, whatever their number (one ``save()`` each
    was a statement per file); every file is stored under its message."""
    answered = [TicketFactory(first_replied_at=timezone.now()) for _ in range(6)]

    def append(tickets: list[Ticket], photos: int):
        return lambda: messages_append(
            [
                MessageToAppend(
                    ticket=t, author=t.requester, body="Photos.", uploads=_photos(photos)
                )
                for t in tickets
            ]
        )

    one = _statements(append(answered[:1], 1))
    many = _statements(append(answered[1:], 3))
    AgentFactory(teams=["customer_care"])
    returns = KINDS[1:2]  # one kind: the same steps for every item
    tickets_open(_requests(1, kinds=returns))  # reads the team lists once (cached)
    new_one = [_with_photos(r, 1) for r in _requests(1, kinds=returns)]
    new_many = [_with_photos(r, 3) for r in _requests(5, kinds=returns)]
    opened = _statements(lambda: tickets_open(new_one))
    opened_many = _statements(lambda: tickets_open(new_many))

    assert many <= one
    assert opened_many <= opened
    stored = Attachment.objects.filter(message__ticket__in=answered)
    assert stored.count() == 16
    for attachment in stored:
        assert attachment.file.name.startswith(
            f"attachments/{attachment.message.ticket_id}/{attachment.message_id}/"
        )
        assert attachment.file.read() == png_bytes()


def _with_photos(request: TicketToOpen, count: int) -> TicketToOpen:
    request.uploads = _photos(count)
    return request


def test_first_messages_open_gives_each_new_tickets_first_message():
    requests = _requests(3, kinds=KINDS[:2])
    requests[1].category = "no_such_category"

    outcomes = first_messages_open(requests)

    assert isinstance(outcomes[1].error, InvalidCategory)
    for request, outcome in zip(requests[::2], outcomes[::2], strict=True):
        message = outcome.unwrap()
        assert message == Message.objects.get(ticket=message.ticket, direction="in")
        assert message.ticket.requester == request.requester
        assert message.body_text == request.body


def test_a_channel_delivering_its_own_replies_gets_them_without_outbox_rows():
    """Live chat adds the system's requests to its stream in its own transaction: they
    come back with the first message, with no outbox row and no delivery task; an item
    beside it in the same batch is delivered through the outbox as before."""
    own, outboxed = _requests(2, kinds=KINDS[1:2])  # a return: order number and photos
    own.channel = outboxed.channel = Channel.LIVE_CHAT
    own.replies_by_caller = True
    tasks_before = DBTaskResult.objects.filter(task_path__endswith="deliver_outbound").count()

    opened_own, opened_outboxed = (o.unwrap() for o in conversations_open([own, outboxed]))

    for opened in (opened_own, opened_outboxed):
        ticket = opened.first.ticket
        replies = list(Message.objects.filter(ticket=ticket, direction="out").order_by("pk"))
        assert opened.system_replies == replies and len(replies) == 1
        assert "order number" in replies[0].body_text and "photo" in replies[0].body_text
        assert ticket.message_count == 2
    assert not OutboundMessage.objects.filter(message__ticket=opened_own.first.ticket).exists()
    assert OutboundMessage.objects.filter(message__ticket=opened_outboxed.first.ticket).count() == 1
    delivered = DBTaskResult.objects.filter(task_path__endswith="deliver_outbound").count()
    assert delivered == tasks_before + 1
