"""The write path: conversations opened and customer messages appended, a batch at a time.

Every channel ends here (``tickets.services.ticket_open`` and
``ticket_customer_message`` are batches of one). For a batch, the steps below run in
this order, each over the whole batch (docs/write_path.md):

1. checks that need no database: the body, the conduct verdict (screening);
2. one query per kind of look-up (conduct blocks, the rows to lock, live SLA clocks,
   the classifier in use), the rules computed in memory: category and team, order
   numbers, assignee, SLA deadlines, the order-number and photo requests;
3. one multi-row INSERT per table (tickets, parties, messages, triage records, clocks,
   acknowledgements and their outbox rows, photo requests, events) or one UPDATE
   (tickets touched by messages), in one transaction;
4. last in the transaction, every task row in one INSERT (they commit with the batch);
   after the commit, the agents' screens told in one hop.

Rare steps run per item inside the same transaction, after the bulk writes: files,
conduct flags (a reminder, a block), a request for a supervisor, a ticket reopened by
its customer. A batch whose transaction fails is retried item by item, so a bad item
(a database constraint, a bug in one step) is set aside alone with its error; the
rules' refusals (a blocked customer, an unknown category, a closed ticket) are per-item
results and never fail the batch.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, TypeVar

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from conduct import services as conduct
from conduct.models import PhotoRequest
from conduct.screening import Finding
from core.errors import UserError, is_transient_database_error
from core.rows_insert import rows_insert
from core.rows_select import Select
from core.rows_update import rows_update
from core.task_rows import PlannedTask, tasks_enqueue_with_transaction
from policy.loader import get_policy
from sla import services as sla
from tickets import events, realtime
from tickets.attachments import CheckedUpload
from tickets.choices import (
    Channel,
    Direction,
    EventKind,
    MessageKind,
    PartyRole,
    Priority,
    RequesterIdentity,
    TicketStatus,
)
from tickets.escalation import asks_for_escalation, escalation_request
from tickets.exceptions import EmptyMessage, TicketClosed
from tickets.models import Message, OutboundMessage, Party, Ticket
from triage import services as triage
from triage.models import PredictionSource, TicketTriage
from triage.sellers import registered_sellers
from workload import routing

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """One item's result: what was written, or why it was set aside."""

    value: T | None = None
    error: Exception | None = None

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


@dataclass
class TicketToOpen:
    """A conversation to open with its first customer message (``ticket_open``'s
    arguments). ``screened``: the conduct verdict, when the caller screened the body
    before its own transaction. ``replies_by_caller``: the channel delivers the
    system's replies itself, in the caller's transaction (live chat's numbered stream),
    so they get no outbox row and no delivery task; ``conversations_open`` gives them."""

    requester: User
    channel: Channel | str
    body: str
    category: str = ""
    subject: str = ""
    order_number: str = ""
    uploads: Sequence[CheckedUpload] = ()
    body_html: str = ""
    external_id: str | None = None
    author_name: str = ""
    priority: Priority | str = Priority.NORMAL
    created_by: User | None = None
    screened: list[Finding] | None = None
    sub_channel: str = ""
    replies_by_caller: bool = False


@dataclass(frozen=True)
class Opened:
    """A new conversation as the write path wrote it: the customer's first message (its
    ``ticket`` the new ticket) and the system's replies (an order-number or photo
    request), in order."""

    first: Message
    system_replies: list[Message]


@dataclass
class MessageToAppend:
    """A customer's message on an existing conversation (``ticket_customer_message``)."""

    ticket: Ticket
    author: User
    body: str
    uploads: Sequence[CheckedUpload] = ()
    channel: Channel | str | None = None
    body_html: str = ""
    external_id: str | None = None
    screened: list[Finding] | None = None


@dataclass
class ReplyToAppend:
    """An agent's public reply (``ticket_reply``'s arguments). ``through_outbox``
    False: the channel delivers it itself (live chat's relay and numbered stream)."""

    ticket: Ticket
    author: User
    body: str
    uploads: Sequence[CheckedUpload] = ()
    status: TicketStatus | str | None = None
    through_outbox: bool = True


@dataclass
class _FollowUp:
    """What a batch's writes leave to follow: task rows and screens to tell."""

    tasks: list[PlannedTask] = field(default_factory=list)
    ticket_ids: list[int] = field(default_factory=list)

    def schedule(self) -> None:
        """Last in the batch's transaction: the task rows in one INSERT, so they commit
        with the batch (no second transaction, and no crash between the work and its
        tasks); the screens' hint on commit (a rolled-back batch tells no one)."""
        tasks, ticket_ids = self.tasks, list(dict.fromkeys(self.ticket_ids))
        if tasks:
            tasks_enqueue_with_transaction(tasks)
        if ticket_ids:
            transaction.on_commit(partial(realtime.tickets_changed, ticket_ids=ticket_ids))


def _together_or_one_by_one(
    items: Sequence[T],
    write: Callable[..., list[Outcome]],
    what: str,
    *,
    savepoint: bool = True,
) -> list[Outcome]:
    """``write`` the batch in one transaction; if that fails as a whole, each item alone
    (``what`` names the work in the log).

    ``savepoint=False``: the caller's own transaction goes down with a batch that fails
    (it never catches the error to go on inside it), so a batch of one, whose failure is
    raised anyway, needs no savepoint of its own: a SAVEPOINT and a RELEASE fewer per
    lone chat message. A batch of several keeps its savepoint, for the items alone."""
    try:
        return write(items, savepoint=savepoint or len(items) > 1)
    except Exception:
        if len(items) == 1:
            raise
        logger.warning("%s %s together failed; one by one now", what, len(items))
        return _item_by_item(items, write)


def _item_by_item(
    items: Sequence[T], write: Callable[[Sequence[T]], list[Outcome]]
) -> list[Outcome]:
    """The batch failed as a whole: each item alone, so only the bad one is set aside."""
    outcomes: list[Outcome] = []
    for item in items:
        try:
            outcomes.extend(write([item]))
        except Exception as exc:
            if is_transient_database_error(exc):
                raise  # the database, not the item: the caller tries the work again
            logger.warning("Batch item set aside: %s", exc, exc_info=True)
            outcomes.append(Outcome(error=exc))
    return outcomes


def _checked(
    *,
    body: str,
    uploads: Sequence[CheckedUpload],
    author: User,
    screened: list[Finding] | None,
    empty: str,
) -> tuple[str, list[Finding]]:
    """The checks before the transaction: the body's size and emptiness, then the
    conduct verdict (pure computation on the customer's text, never under a lock)."""
    from tickets.services import clean_body

    body = clean_body(body)
    if not body and not uploads:
        raise EmptyMessage(empty, field="body")
    if screened is None:
        screened = conduct.text_screened(text=body, author=author)
    return body, screened


# --- Opening tickets


@dataclass
class _Opening:
    item: TicketToOpen
    body: str
    screened: list[Finding]
    ticket: Ticket | None = None
    message: Message | None = None
    triage: TicketTriage | None = None
    error: Exception | None = None
    system_replies: list[Message] = field(default_factory=list)

    @property
    def new_ticket(self) -> Ticket:
        assert self.ticket is not None
        return self.ticket

    @property
    def first_message(self) -> Message:
        assert self.message is not None
        return self.message


def tickets_open(items: Sequence[TicketToOpen]) -> list[Outcome[Ticket]]:
    """Open a conversation for each item, in one transaction; results in order."""
    return [
        Outcome(value=o.value.ticket) if o.value is not None else Outcome(error=o.error)
        for o in first_messages_open(items)
    ]


def first_messages_open(
    items: Sequence[TicketToOpen], *, savepoint: bool = True
) -> list[Outcome[Message]]:
    """``tickets_open``, giving each item's first customer message (its ``ticket`` the
    new ticket): for a channel that links its own records to the message, without
    reading back what the batch has just written. ``savepoint``: as
    ``_together_or_one_by_one`` says."""
    return [
        Outcome(value=o.value.first) if o.value is not None else Outcome(error=o.error)
        for o in conversations_open(items, savepoint=savepoint)
    ]


def conversations_open(
    items: Sequence[TicketToOpen], *, savepoint: bool = True
) -> list[Outcome[Opened]]:
    """``first_messages_open``, with the system's replies each new ticket got: a channel
    whose items deliver them itself (``replies_by_caller``) adds them to its stream in
    the same transaction."""
    return _together_or_one_by_one(items, _open_batch, "Opening tickets:", savepoint=savepoint)


def _conduct_flag(*, message: Message, findings: list[Finding]) -> None:
    """A stored message the screening flagged: conduct records the flag, the ticket gets
    the reminder a first flag owes the customer, then conduct's follow-up (a block, the
    owner's notice). Conduct decides; the ticket services reply."""
    from tickets.services import ticket_system_reply

    flag = conduct.flag_record(message=message, findings=findings)
    if flag is None:
        return
    if flag.reminded:
        ticket_system_reply(ticket=message.ticket, body=conduct.reminder_text())
    conduct.flag_followed_up(flag=flag)


def _open_batch(items: Sequence[TicketToOpen], *, savepoint: bool = True) -> list[Outcome[Opened]]:
    from tickets.services import category_check, order_number_check

    openings: list[_Opening] = []
    for item in items:
        opening = _Opening(item=item, body="", screened=[])
        try:
            opening.body, opening.screened = _checked(
                body=item.body,
                uploads=item.uploads,
                author=item.requester,
                screened=item.screened,
                empty="Tell us what happened: the message is empty.",
            )
        except UserError as exc:
            opening.error = exc
        openings.append(opening)
    after = _FollowUp()
    with transaction.atomic(savepoint=savepoint), events.recorded_together():
        live = [o for o in openings if o.error is None]
        blocks = conduct.blocks_active_for(
            pairs=[(o.item.requester, str(o.item.channel)) for o in live]
        )
        # Registered sellers among the requesters of tickets to categorise: one question.
        askers = [(o.item.requester, o.item.channel) for o in live if not o.item.category]
        sellers = registered_sellers(requesters=askers)
        for opening in live:
            item = opening.item
            try:
                block = blocks.get((item.requester.pk, str(item.channel)))
                if block is not None and item.requester.is_customer:
                    raise conduct.block_refusal(block)
                category = (
                    category_check(key=item.category, requester=item.requester)
                    if item.category
                    else ""
                )
                # A typed, unproven address files the ticket under an unverified contact:
                # its order number is kept aside, not looked up.
                unverified = item.requester.unverified_contact
                number = order_number_check(
                    raw=item.order_number, customer=item.requester, verified=not unverified
                )
            except UserError as exc:
                opening.error = exc
                continue
            number, unverified_number = ("", number) if unverified else (number, "")
            ticket = Ticket(
                subject=_subject(item.subject, opening.body),
                requester=item.requester,
                requester_identity=(
                    RequesterIdentity.UNVERIFIED if unverified else RequesterIdentity.ACCOUNT
                ),
                channel=item.channel,
                sub_channel=item.sub_channel,
                category=category,
                order_number=number,
                unverified_order_number=unverified_number,
                priority=item.priority,
                message_count=1,
            )
            opening.ticket = ticket
        opened = [o for o in openings if o.ticket is not None]
        # Free text without a category is categorised here (or left for triage), the
        # batch's texts together.
        texts = {id(o): f"{o.new_ticket.subject}\n{o.body}" for o in opened}
        uncategorised = [o for o in opened if not o.new_ticket.category]
        if uncategorised:
            filed = triage.opening_categories(
                items=[
                    triage.OpeningToFile(
                        requester=o.item.requester,
                        channel=str(o.item.channel),
                        text=texts[id(o)],
                        photo=any(u.content_type.startswith("image/") for u in o.item.uploads),
                        seller=o.item.requester.pk in sellers,
                    )
                    for o in uncategorised
                ],
                active=triage.classifier_active(bootstrap=True),
            )
            for opening, found in zip(uncategorised, filed, strict=True):
                opening.new_ticket.category, opening.triage = found.category, found.record
        for opening in opened:
            ticket = opening.new_ticket
            ticket.team = get_policy().category(ticket.category).team if ticket.category else ""
            if not ticket.order_number:
                ticket.order_number = triage.order_number_in_text(
                    ticket=ticket, text=texts[id(opening)]
                )
        if opened:
            _open_write(opened, after)
        after.schedule()
    return [
        Outcome(value=Opened(first=o.first_message, system_replies=o.system_replies))
        if o.error is None
        else Outcome(error=o.error)
        for o in openings
    ]


def _subject(subject: str, body: str) -> str:
    from tickets.services import SUBJECT_MAX, subject_from

    # NUL like the body's: PostgreSQL text cannot hold it, and it means nothing in a subject.
    return (subject.replace("\x00", "").strip() or subject_from(body))[:SUBJECT_MAX]


def _open_write(opened: list[_Opening], after: _FollowUp) -> None:
    from tickets.services import attachments_store, sanitise_html

    now = timezone.now()
    tickets = [o.new_ticket for o in opened]
    # Deadlines and assignees are decided before the INSERT, which carries them.
    clocks = [
        clock
        for ticket in tickets
        for clock in sla.first_reply_clocks_planned(ticket=ticket, at=now)
    ]
    assignees = routing.agents_for_new_tickets(team_keys=[ticket.team for ticket in tickets])
    for ticket, assignee_id in zip(tickets, assignees, strict=True):
        ticket.assignee_id = assignee_id
    # The order-number and photo requests a new ticket gets, decided from its fields.
    asks: dict[int, str] = {}
    photo_requests: list[Ticket] = []
    for index, opening in enumerate(opened):
        ticket = opening.new_ticket
        photos = any(u.content_type.startswith("image/") for u in opening.item.uploads)
        wants_photos = conduct.photos_wanted(ticket=ticket) and not photos
        body = ""
        if triage.order_number_wanted(ticket=ticket):
            body = triage.order_number_request_text()
            if opening.triage is None:
                opening.triage = TicketTriage(source=PredictionSource.CUSTOMER, applied=True)
            opening.triage.order_number_requested_at = now
            if wants_photos:
                body += "\n\n" + conduct.photo_request_text(ticket=ticket)
        elif wants_photos:
            body = conduct.photo_request_text(ticket=ticket)
        if wants_photos:
            photo_requests.append(ticket)
        if body:
            asks[index] = body
            ticket.message_count += 1
    rows_insert(tickets)
    rows_insert(
        [
            Party(
                ticket=ticket,
                user=ticket.requester,
                role=PartyRole.REQUESTER,
                name=str(ticket.requester),
                email=ticket.requester.email,
            )
            for ticket in tickets
        ]
    )
    for opening in opened:
        item = opening.item
        opening.message = Message(
            ticket=opening.ticket,
            kind=MessageKind.REPLY,
            direction=Direction.INBOUND,
            author=item.requester,
            author_name=item.author_name or str(item.requester),
            channel=item.channel,
            body_text=opening.body,
            body_html=sanitise_html(item.body_html),
            external_id=item.external_id,
        )
    rows_insert([o.first_message for o in opened])
    attachments_store([(o.first_message, o.item.uploads) for o in opened])
    records = []
    for opening in opened:
        if opening.triage is not None:
            opening.triage.ticket = opening.new_ticket
            records.append(opening.triage)
    rows_insert(records)
    for opening in opened:
        ticket, message = opening.new_ticket, opening.first_message
        events.ticket_created(
            ticket=ticket, actor=opening.item.created_by or opening.item.requester
        )
        events.message_received(ticket=ticket, message=message, actor=opening.item.requester)
        if ticket.assignee_id is not None:
            events.field_changed(
                ticket=ticket, kind=EventKind.ASSIGNED, actor=None, old=None, new=ticket.assignee_id
            )
    after.tasks += sla.first_reply_clocks_start(tickets=tickets, clocks=clocks)
    # Rare steps, per item: a flagged first message (the reminder, maybe a block).
    for opening in opened:
        if opening.screened:
            _conduct_flag(message=opening.first_message, findings=opening.screened)
    replies = _system_replies(
        [(opened[index].new_ticket, body) for index, body in asks.items()],
        after,
        by_caller={
            opened[index].new_ticket.pk for index in asks if opened[index].item.replies_by_caller
        },
    )
    for index, reply in zip(asks, replies, strict=True):
        opened[index].system_replies.append(reply)
    rows_insert([PhotoRequest(ticket=ticket) for ticket in photo_requests])
    for opening in opened:
        if asks_for_escalation(opening.body):
            escalation_request(
                ticket=opening.new_ticket,
                requested_by=opening.item.requester,
                channel=str(opening.item.channel),
            )
    # No hint for the new tickets: no page can be watching a ticket before its commit.


def system_replies_add(replies: Sequence[tuple[Ticket, str]]) -> list[Message]:
    """Public messages from the system itself on tickets the caller holds (a mail
    batch's acknowledgements), delivered on each ticket's channel like an agent's reply:
    ``ticket_system_reply`` for a batch, in one transaction with one statement per table
    and one UPDATE of the tickets' times and message counts. Messages in order."""
    if not replies:
        return []
    after = _FollowUp()
    # No savepoint of its own: the caller's transaction holds the tickets, and a failure
    # here fails the caller's batch.
    with transaction.atomic(savepoint=False), events.recorded_together():
        messages = _system_replies(list(replies), after)
        counts = Counter(ticket.pk for ticket, _body in replies)
        now = timezone.now()
        rows_update(Ticket, counts, same={"updated_at": now}, added={"message_count": counts})
        for ticket in {ticket.pk: ticket for ticket, _body in replies}.values():
            ticket.updated_at = now
            ticket.message_count += counts[ticket.pk]
        after.ticket_ids += list(counts)
        after.schedule()
    return messages


def _system_replies(
    replies: list[tuple[Ticket, str]], after: _FollowUp, *, by_caller: Set[int] = frozenset()
) -> list[Message]:
    """Acknowledgements from the system, delivered through the outbox like an agent's
    reply: one INSERT for the messages, one for their outbox rows. The tickets' message
    counts already include them. ``by_caller``: tickets whose channel delivers them
    itself (no outbox row, no task)."""
    from tickets.tasks import deliver_outbound

    if not replies:
        return []
    author_name = f"{get_policy().organisation.name} Support"
    messages = [
        Message(
            ticket=ticket,
            kind=MessageKind.REPLY,
            direction=Direction.OUTBOUND,
            author=None,
            author_name=author_name,
            channel=ticket.channel,
            body_text=body,
        )
        for ticket, body in replies
    ]
    rows_insert(messages)
    outbounds = rows_insert(
        [
            OutboundMessage(message=message, channel=message.channel)
            for message in messages
            if message.ticket_id not in by_caller
        ]
    )
    for message in messages:
        events.message_sent(ticket=message.ticket, message=message, actor=None)
    after.tasks += [
        PlannedTask(task=deliver_outbound, kwargs={"outbound_id": outbound.pk})
        for outbound in outbounds
    ]
    return messages


# --- Customer messages on existing tickets


def _locked_tickets(ids: set[int]) -> dict[int, Ticket]:
    """The batch's tickets, locked for the transaction in id order (so two batches never
    wait on each other in a cycle), by id; a ticket deleted meanwhile is missing."""
    return {ticket.pk: ticket for ticket in _TICKETS_LOCKED(ids=ids)}


# Compiled once (core.rows_select): every batch of messages and replies reads it.
_TICKETS_LOCKED = Select(
    lambda ids: Ticket.objects.select_for_update(no_key=True).filter(pk__any=ids).order_by("pk")
)


@dataclass
class _Arrival:
    item: MessageToAppend
    body: str
    screened: list[Finding]
    message: Message | None = None
    error: Exception | None = None


def messages_append(
    items: Sequence[MessageToAppend], *, savepoint: bool = True
) -> list[Outcome[Message]]:
    """Append each customer message to its ticket (several may share one), in order and
    in one transaction; a resolved or waiting ticket comes back to the team.
    ``savepoint``: as ``_together_or_one_by_one`` says."""
    return _together_or_one_by_one(items, _append_batch, "Appending messages:", savepoint=savepoint)


def _append_batch(
    items: Sequence[MessageToAppend], *, savepoint: bool = True
) -> list[Outcome[Message]]:
    from tickets.services import sanitise_html

    arrivals: list[_Arrival] = []
    for item in items:
        arrival = _Arrival(item=item, body="", screened=[])
        try:
            arrival.body, arrival.screened = _checked(
                body=item.body,
                uploads=item.uploads,
                author=item.author,
                screened=item.screened,
                empty="The message is empty.",
            )
        except UserError as exc:
            arrival.error = exc
        arrivals.append(arrival)
    after = _FollowUp()
    with transaction.atomic(savepoint=savepoint), events.recorded_together():
        live = [a for a in arrivals if a.error is None]
        locked = _locked_tickets({a.item.ticket.pk for a in live})
        for arrival in live:
            ticket = locked.get(arrival.item.ticket.pk)
            if ticket is None:
                arrival.error = UserError("This request no longer exists.")
            elif ticket.is_closed:
                arrival.error = TicketClosed(
                    f"Request {ticket.reference} is closed. Please open a new request.", field=None
                )
            else:
                arrival.message = Message(
                    ticket=ticket,
                    kind=MessageKind.REPLY,
                    direction=Direction.INBOUND,
                    author=arrival.item.author,
                    author_name=str(arrival.item.author),
                    channel=arrival.item.channel or ticket.channel,
                    body_text=arrival.body,
                    body_html=sanitise_html(arrival.item.body_html),
                    external_id=arrival.item.external_id,
                )
        stored = [a for a in live if a.message is not None]
        if stored:
            rows_insert([a.message for a in stored if a.message is not None])
            _append_write(stored, after)
        after.schedule()
    return [
        Outcome(value=a.message) if a.error is None else Outcome(error=a.error) for a in arrivals
    ]


def _append_write(stored: list[_Arrival], after: _FollowUp) -> None:
    from tickets.services import attachments_store, set_status

    attachments_store([(a.message, a.item.uploads) for a in stored if a.message is not None])
    linked: dict[int, str] = {}
    first: dict[int, tuple[Ticket, Message]] = {}
    for arrival in stored:
        message = arrival.message
        assert message is not None
        ticket = message.ticket
        # A later customer message may carry the order number the ticket still lacks.
        if not ticket.order_number:
            number = triage.order_number_in_text(ticket=ticket, text=arrival.body)
            if number:
                ticket.order_number = linked[ticket.pk] = number
        events.message_received(ticket=ticket, message=message, actor=arrival.item.author)
        first.setdefault(ticket.pk, (ticket, message))
    for arrival in stored:
        if arrival.screened:
            assert arrival.message is not None
            _conduct_flag(message=arrival.message, findings=arrival.screened)
    for ticket, message in first.values():
        if ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
            set_status(ticket=ticket, actor=message.author, status=TicketStatus.OPEN)
    clocks = sla.on_customer_messages(
        arrivals=[(ticket, message.created_at) for ticket, message in first.values()]
    )
    after.tasks += clocks.timers
    for arrival in stored:
        if asks_for_escalation(arrival.body):
            assert arrival.message is not None
            escalation_request(
                ticket=arrival.message.ticket,
                requested_by=arrival.item.author,
                channel=arrival.message.channel,
            )
    # One UPDATE for every ticket: the time, the message count, an order number found in
    # a message, the deadlines the clocks moved.
    counts = Counter(a.message.ticket_id for a in stored if a.message is not None)
    now = timezone.now()
    changed: dict[str, Mapping[int, object]] = dict(sla.deadlines_changed(clocks.deadlines))
    if linked:
        changed["order_number"] = linked
    rows_update(
        Ticket, counts, same={"updated_at": now}, added={"message_count": counts}, changed=changed
    )
    for ticket, _message in first.values():
        ticket.updated_at = now
        ticket.message_count += counts[ticket.pk]
    after.ticket_ids += list(counts)


# --- Agents' replies


@dataclass
class _Reply:
    item: ReplyToAppend
    body: str
    message: Message | None = None
    error: Exception | None = None


def replies_append(
    items: Sequence[ReplyToAppend], *, savepoint: bool = True
) -> list[Outcome[Message]]:
    """Record each agent's reply on its ticket (several may share one), in order and in
    one transaction: the first reply stops the first-reply clock, an unassigned ticket
    goes to the agent who answered it, a new one becomes open. ``savepoint``: as
    ``_together_or_one_by_one`` says."""
    return _together_or_one_by_one(items, _reply_batch, "Appending replies:", savepoint=savepoint)


def _reply_batch(
    items: Sequence[ReplyToAppend], *, savepoint: bool = True
) -> list[Outcome[Message]]:
    from tickets.exceptions import InvalidAssignee
    from tickets.services import clean_body

    replies: list[_Reply] = []
    for item in items:
        reply = _Reply(item=item, body=clean_body(item.body))
        if not reply.body and not item.uploads:
            reply.error = EmptyMessage("The reply is empty.", field="body")
        replies.append(reply)
    after = _FollowUp()
    with transaction.atomic(savepoint=savepoint), events.recorded_together():
        live = [r for r in replies if r.error is None]
        locked = _locked_tickets({r.item.ticket.pk for r in live})
        for reply in live:
            ticket = locked.get(reply.item.ticket.pk)
            author = reply.item.author
            if ticket is None:
                reply.error = UserError("This request no longer exists.")
            elif ticket.is_closed:
                reply.error = TicketClosed(
                    f"{ticket.reference} is closed; reopen it before replying."
                )
            elif ticket.assignee_id is None and author.is_agent and not author.is_active:
                reply.error = InvalidAssignee(f"{author} is not active.", field="assignee")
            else:
                reply.message = Message(
                    ticket=ticket,
                    kind=MessageKind.REPLY,
                    direction=Direction.OUTBOUND,
                    author=author,
                    author_name=str(author),
                    channel=ticket.channel,
                    body_text=reply.body,
                )
        stored = [r for r in live if r.message is not None]
        if stored:
            rows_insert([r.message for r in stored if r.message is not None])
            _reply_write(stored, after)
        after.schedule()
    return [
        Outcome(value=r.message) if r.error is None else Outcome(error=r.error) for r in replies
    ]


def _reply_write(stored: list[_Reply], after: _FollowUp) -> None:
    from tickets.services import attachments_store, set_status
    from tickets.tasks import deliver_outbound

    attachments_store([(r.message, r.item.uploads) for r in stored if r.message is not None])
    first: dict[int, tuple[Ticket, Message]] = {}
    for reply in stored:
        message = reply.message
        assert message is not None
        events.message_sent(ticket=message.ticket, message=message, actor=reply.item.author)
        first.setdefault(message.ticket_id, (message.ticket, message))
    outbounds = rows_insert(
        [
            OutboundMessage(message=r.message, channel=r.message.channel)
            for r in stored
            if r.item.through_outbox and r.message is not None
        ]
    )
    after.tasks += [
        PlannedTask(task=deliver_outbound, kwargs={"outbound_id": outbound.pk})
        for outbound in outbounds
    ]
    clocks = sla.on_agent_replies(
        replies=[(ticket, message.created_at) for ticket, message in first.values()]
    )
    # The tickets' fields a reply changes, decided in memory and written with the
    # batch's one UPDATE: the first reply's time, the assignee, new becoming open.
    first_replied: dict[int, object] = {}
    assigned: dict[int, int] = {}
    opened: list[int] = []
    for ticket, message in first.values():
        author = message.author
        assert author is not None
        if ticket.first_replied_at is None:
            ticket.first_replied_at = first_replied[ticket.pk] = message.created_at
        if ticket.assignee_id is None and author.is_agent:
            ticket.assignee = author
            assigned[ticket.pk] = author.pk
            events.field_changed(
                ticket=ticket, kind=EventKind.ASSIGNED, actor=author, old=None, new=author.pk
            )
    for reply in stored:
        assert reply.message is not None
        replied = reply.message.ticket
        if not reply.item.status and replied.status == TicketStatus.NEW:
            # New to open moves no clock (``sla.on_status_changed``): the replies' own
            # clock changes above already hold the deadlines.
            replied.status = TicketStatus.OPEN
            opened.append(replied.pk)
            events.field_changed(
                ticket=replied,
                kind=EventKind.STATUS_CHANGED,
                actor=reply.item.author,
                old=str(TicketStatus.NEW),
                new=str(TicketStatus.OPEN),
            )
    counts = Counter(r.message.ticket_id for r in stored if r.message is not None)
    now = timezone.now()
    changed: dict[str, Mapping[int, object]] = dict(sla.deadlines_changed(clocks.deadlines))
    if first_replied:
        changed["first_replied_at"] = first_replied
    if assigned:
        changed["assignee_id"] = assigned
    if opened:
        changed["status"] = dict.fromkeys(opened, str(TicketStatus.OPEN))
    rows_update(
        Ticket, counts, same={"updated_at": now}, added={"message_count": counts}, changed=changed
    )
    for ticket, _message in first.values():
        ticket.updated_at = now
        ticket.message_count += counts[ticket.pk]
    # Rare steps, per item: a status the agent chose with the reply.
    for reply in stored:
        if reply.item.status and reply.message is not None:
            set_status(
                ticket=reply.message.ticket,
                actor=reply.item.author,
                status=TicketStatus(reply.item.status),
            )
    after.ticket_ids += list(counts)
