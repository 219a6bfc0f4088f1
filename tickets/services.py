"""Writes to conversations. Every channel (portal, API, email, chat, social) calls these,
so clocks, events and checks apply the same way whatever the message came through."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from functools import partial

import nh3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from conduct.screening import Finding
from core.errors import UserError
from core.rows_insert import rows_insert
from marketplace.adapters import MarketplaceUnavailable, get_marketplace
from policy.loader import get_policy
from sla import services as sla
from tickets import events, realtime
from tickets.attachments import CheckedUpload
from tickets.choices import (
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    MessageKind,
    Priority,
    TicketStatus,
)
from tickets.exceptions import (
    EmptyMessage,
    InvalidAssignee,
    InvalidCategory,
    InvalidOrderNumber,
    InvalidTeam,
    OrderCheckUnavailable,
    UnknownOrder,
)
from tickets.models import Attachment, Message, OutboundMessage, Ticket
from triage import services as triage

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 50_000
SUBJECT_MAX = 200


# --- Checks shared by every entry point


def category_check(*, key: str, requester: User | None = None) -> str:
    """The category key if the policy has it (and the requester may use it)."""
    policy = get_policy()
    try:
        category = policy.category(key)
    except KeyError:
        names = ", ".join(c.name for c in policy.categories)
        raise InvalidCategory(
            f"{key!r} is not a support category (choose one of: {names}).", field="category"
        ) from None
    if category.audience == "sellers" and requester is not None and requester.is_customer:
        from accounts.models import Role

        if requester.role != Role.SELLER:
            raise InvalidCategory(f"{category.name} is for registered sellers.", field="category")
    return category.key


def order_number_normalise(raw: str) -> str:
    """Upper-case and strip what customers type around an order number ("#iz-123...")."""
    return raw.strip().lstrip("#").strip().upper()


def order_number_check(*, raw: str, customer: User | None, verified: bool = True) -> str:
    """The order number in canonical form, if well formed and (for a customer) theirs.

    An order that exists but belongs to someone else is reported exactly like an order
    that does not exist, so order numbers cannot be probed through support. For an
    unverified requester (``verified=False``) only the form is checked: any answer about
    the order would tell a stranger whether it belongs to the address they typed.
    """
    if not raw.strip():
        return ""
    policy = get_policy()
    number = order_number_normalise(raw)
    if not re.fullmatch(policy.order_numbers.pattern, number):
        raise InvalidOrderNumber(
            f"{raw.strip()[:40]!r} is not an Izonie order number "
            f"(they look like {policy.order_numbers.example}).",
            field="order_number",
        )
    if not verified:
        return number
    marketplace = get_marketplace()
    try:
        if customer is not None and customer.is_customer:
            order = marketplace.order_for_customer(number=number, customer_id=customer.pk)
        else:
            order = marketplace.order_get(number=number)
    except MarketplaceUnavailable as exc:
        logger.warning("Order number %s not checked: %s", number, exc)
        raise OrderCheckUnavailable(
            "We cannot check order numbers right now. Please try again in a few minutes, "
            "or leave the order number out and write it in your message.",
            field="order_number",
        ) from exc
    if order is None:
        if number == order_number_normalise(policy.order_numbers.example):
            raise UnknownOrder(
                f"{number} is only the example we show. Type the number from your order "
                "confirmation, or leave it out.",
                field="order_number",
            )
        # "on this account" only to a signed-in customer: a visitor has no account here.
        where = " on your account" if customer is not None and customer.is_customer else ""
        raise UnknownOrder(
            f"We could not find order {number}{where}. Check the number in "
            "your order confirmation.",
            field="order_number",
        )
    return number


def clean_body(body: str) -> str:
    body = body.replace("\x00", "").strip()
    if len(body) > MAX_BODY_CHARS:
        raise UserError(
            f"The message is {len(body):,} characters long; the limit is {MAX_BODY_CHARS:,}.",
            field="body",
        )
    return body


def sanitise_html(html: str) -> str:
    """Sanitised HTML safe to show agents (scripts, handlers and styles removed)."""
    return nh3.clean(html, link_rel="noopener noreferrer nofollow") if html else ""


def subject_from(body: str) -> str:
    first_line = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return (first_line or "New request")[:SUBJECT_MAX]


def _on_commit_changed(ticket: Ticket) -> None:
    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket.pk))


def store_attachments(*, message: Message, uploads: Sequence[CheckedUpload]) -> None:
    attachments_store([(message, uploads)])


def attachments_store(uploads_of: Sequence[tuple[Message, Sequence[CheckedUpload]]]) -> None:
    """The files of a batch's messages: each file written to storage, then every row in
    one multi-row INSERT (one ``save()`` per attachment was a statement per file: a mail
    batch's attachments were its largest count of statements)."""
    attachments = []
    for message, uploads in uploads_of:
        for checked in uploads:
            attachment = Attachment(
                message=message,
                filename=checked.filename,
                content_type=checked.content_type,
                size=checked.size,
            )
            # The path names the message's and ticket's keys: the message is saved.
            attachment.file.save(checked.filename, checked.upload, save=False)
            attachments.append(attachment)
    rows_insert(attachments)


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)


def _touch(ticket: Ticket, *, messages: int = 0) -> None:
    """Bump ``updated_at`` and the message count in the row (concurrent writers add up)
    and on ``ticket``, in one statement: UPDATE … RETURNING (PostgreSQL, SQLite 3.35+)."""
    now = timezone.now()
    table = connection.ops.quote_name(Ticket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET updated_at = %s, message_count = message_count + %s "  # noqa: S608
            "WHERE id = %s RETURNING message_count",
            [connection.ops.adapt_datetimefield_value(now), messages, ticket.pk],
        )
        row = cursor.fetchone()
    if row is not None:
        ticket.updated_at, ticket.message_count = now, row[0]


# --- Opening a ticket and customer messages: batches of one through the write path


def ticket_open(
    *,
    requester: User,
    channel: Channel | str,
    body: str,
    category: str = "",
    subject: str = "",
    order_number: str = "",
    uploads: Sequence[CheckedUpload] = (),
    body_html: str = "",
    external_id: str | None = None,
    author_name: str = "",
    priority: Priority | str = Priority.NORMAL,
    created_by: User | None = None,
    screened: list[Finding] | None = None,
    sub_channel: str = "",
) -> Ticket:
    """Open a conversation with its first customer message: ``write_path.tickets_open``
    with one item, raising its error.

    ``category`` may be blank only for channels whose triage predicts it later; the
    portal and the API require it before calling this. ``screened``: the conduct
    verdict on ``body`` when the caller screened it before its own transaction.
    """
    from tickets.write_path import TicketToOpen, tickets_open

    (outcome,) = tickets_open(
        [
            TicketToOpen(
                requester=requester,
                channel=channel,
                body=body,
                category=category,
                subject=subject,
                order_number=order_number,
                uploads=uploads,
                body_html=body_html,
                external_id=external_id,
                author_name=author_name,
                priority=priority,
                created_by=created_by,
                screened=screened,
                sub_channel=sub_channel,
            )
        ]
    )
    return outcome.unwrap()


def ticket_customer_message(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    uploads: Sequence[CheckedUpload] = (),
    channel: Channel | str | None = None,
    body_html: str = "",
    external_id: str | None = None,
    screened: list[Finding] | None = None,
) -> Message:
    """A customer writes again; a resolved or waiting ticket comes back to the team:
    ``write_path.messages_append`` with one item, raising its error. ``screened``: the
    conduct verdict on ``body`` when the caller screened it before its own transaction."""
    from tickets.write_path import MessageToAppend, messages_append

    (outcome,) = messages_append(
        [
            MessageToAppend(
                ticket=ticket,
                author=author,
                body=body,
                uploads=uploads,
                channel=channel,
                body_html=body_html,
                external_id=external_id,
                screened=screened,
            )
        ]
    )
    return outcome.unwrap()


def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    uploads: Sequence[CheckedUpload] = (),
    status: TicketStatus | str | None = None,
    through_outbox: bool = True,
) -> Message:
    """An agent answers the customer on the ticket's channel, through the outbox:
    ``write_path.replies_append`` with one item, raising its error.

    Live chat passes ``through_outbox=False``: its relay delivers the reply at once
    over the customer's socket and its numbered stream is the delivery record.
    """
    from tickets.write_path import ReplyToAppend, replies_append

    (outcome,) = replies_append(
        [
            ReplyToAppend(
                ticket=ticket,
                author=author,
                body=body,
                uploads=uploads,
                status=status,
                through_outbox=through_outbox,
            )
        ]
    )
    return outcome.unwrap()


def ticket_system_reply(*, ticket: Ticket, body: str) -> Message:
    """A public message from the system itself (acknowledgements, escalation notices),
    delivered on the ticket's channel like an agent's reply. Caller holds the lock."""
    from tickets.tasks import deliver_outbound

    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.REPLY,
        direction=Direction.OUTBOUND,
        author=None,
        author_name=f"{get_policy().organisation.name} Support",
        channel=ticket.channel,
        body_text=body,
    )
    outbound = OutboundMessage.objects.create(message=message, channel=ticket.channel)
    events.message_sent(ticket=ticket, message=message, actor=None)
    _touch(ticket, messages=1)
    transaction.on_commit(partial(deliver_outbound.enqueue, outbound_id=outbound.pk))
    return message


@transaction.atomic
def ticket_add_note(
    *, ticket: Ticket, author: User, body: str, uploads: Sequence[CheckedUpload] = ()
) -> Message:
    """An internal note: seen by the support team only, never delivered."""
    body = clean_body(body)
    if not body and not uploads:
        raise EmptyMessage("The note is empty.", field="body")
    ticket = _lock(ticket)
    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.NOTE,
        direction=Direction.INTERNAL,
        author=author,
        author_name=str(author),
        channel=ticket.channel,
        body_text=body,
    )
    store_attachments(message=message, uploads=uploads)
    events.note_added(ticket=ticket, message=message, actor=author)
    _touch(ticket, messages=1)
    _on_commit_changed(ticket)
    return message


# --- Field changes. Each writes an event with the old and new value.


def set_status(*, ticket: Ticket, actor: User | None, status: TicketStatus) -> None:
    old = ticket.status
    if old == status:
        return
    now = timezone.now()
    ticket.status = status
    fields = ["status"]
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    if old in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and status not in (
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ):
        ticket.resolved_at = None
        ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    ticket.save(update_fields=fields)
    events.field_changed(
        ticket=ticket, kind=EventKind.STATUS_CHANGED, actor=actor, old=old, new=str(status)
    )
    sla.on_status_changed(ticket=ticket, old=old, new=status, at=now)
    if status == TicketStatus.RESOLVED:
        # The customer is asked to rate the solved request on its channel (on commit).
        from feedback.requests import rating_request_on_resolved

        rating_request_on_resolved(ticket=ticket)


def _assign(*, ticket: Ticket, actor: User | None, assignee: User | None) -> None:
    if assignee is not None and not assignee.is_agent:
        raise InvalidAssignee(f"{assignee} is not on the support team.", field="assignee")
    if assignee is not None and not assignee.is_active:
        raise InvalidAssignee(f"{assignee} is not active.", field="assignee")
    old = ticket.assignee_id
    if old == (assignee.pk if assignee else None):
        return
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee"])
    events.field_changed(
        ticket=ticket,
        kind=EventKind.ASSIGNED,
        actor=actor,
        old=old,
        new=assignee.pk if assignee else None,
    )


def _set_team(*, ticket: Ticket, actor: User | None, team: str) -> None:
    if team and team not in {t.key for t in get_policy().teams}:
        raise InvalidTeam(f"{team!r} is not a support team.", field="team")
    old = ticket.team
    if old == team:
        return
    ticket.team = team
    ticket.save(update_fields=["team"])
    events.field_changed(ticket=ticket, kind=EventKind.TEAM_CHANGED, actor=actor, old=old, new=team)


def _set_category(*, ticket: Ticket, actor: User | None, category: str) -> None:
    key = category_check(key=category)
    old = ticket.category
    if old == key:
        return
    ticket.category = key
    ticket.save(update_fields=["category"])
    events.field_changed(
        ticket=ticket, kind=EventKind.CATEGORY_CHANGED, actor=actor, old=old, new=key
    )
    # The ticket follows its category to that category's team.
    _set_team(ticket=ticket, actor=actor, team=get_policy().category(key).team)


def _set_priority(*, ticket: Ticket, actor: User | None, priority: Priority) -> None:
    old = ticket.priority
    if old == priority:
        return
    ticket.priority = priority
    ticket.save(update_fields=["priority"])
    events.field_changed(
        ticket=ticket, kind=EventKind.PRIORITY_CHANGED, actor=actor, old=old, new=str(priority)
    )


_UNSET: object = object()


@transaction.atomic
def ticket_touched(*, ticket: Ticket) -> None:
    """Something lists show changed (its tags, say): move it up and tell live pages."""
    _touch(ticket)
    _on_commit_changed(ticket)


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: User,
    status: TicketStatus | str | None = None,
    category: str | None = None,
    priority: Priority | str | None = None,
    team: str | None = None,
    assignee: User | object | None = _UNSET,
) -> Ticket:
    """Change any of status, category, priority, team and assignee in one step.

    ``assignee=None`` unassigns; leaving it out keeps the current assignee.
    """
    ticket = _lock(ticket)
    if category is not None:
        previous_category = ticket.category
        _set_category(ticket=ticket, actor=actor, category=category)
        # An agent's categorisation is a labelled example for the classifier, and the
        # category may need an order number or photos: asked once.
        if (
            ticket.category != previous_category
            and triage.category_labelled(ticket=ticket, actor=actor) is not None
        ):
            from tickets.workflows import asks_after_category

            asks_after_category(ticket=ticket)
    if team is not None:
        _set_team(ticket=ticket, actor=actor, team=team)
    if priority is not None:
        _set_priority(ticket=ticket, actor=actor, priority=Priority(priority))
    if assignee is not _UNSET:
        assert assignee is None or isinstance(assignee, User)
        _assign(ticket=ticket, actor=actor, assignee=assignee)
    if status is not None:
        set_status(ticket=ticket, actor=actor, status=TicketStatus(status))
    _touch(ticket)
    _on_commit_changed(ticket)
    return ticket


# --- The outbox


def outbound_backoff(*, attempts: int) -> dt.timedelta:
    """Exponential back-off: base, 2 x base, 4 x base and so on, capped at six hours."""
    base = settings.IZONIE_OUTBOX_BACKOFF_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def outbound_attempt(*, outbound_id: int) -> DeliveryStatus | None:
    """Try to deliver one outbox row once, and record what happened.

    Safe to run late or twice: a delivered or failed row is left alone, and the
    attempt is claimed with a conditional update so two runs cannot both send.
    """
    from tickets import delivery
    from tickets.tasks import deliver_outbound

    outbound = (
        OutboundMessage.objects.select_related("message__ticket").filter(pk=outbound_id).first()
    )
    if outbound is None or outbound.status != DeliveryStatus.PENDING:
        return None
    claimed = OutboundMessage.objects.filter(
        pk=outbound.pk, status=DeliveryStatus.PENDING, attempts=outbound.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=None)
    if not claimed:
        return None
    outbound.attempts += 1
    try:
        delivery.deliver(outbound)
    except delivery.DeliveryError as exc:
        outbound.last_error = str(exc)[:2000]
        give_up = exc.permanent or outbound.attempts >= settings.IZONIE_OUTBOX_MAX_ATTEMPTS
        with transaction.atomic():
            if give_up:
                outbound.status = DeliveryStatus.FAILED
                outbound.save(update_fields=["status", "last_error"])
                events.delivery_failed(outbound=outbound)
            else:
                outbound.next_attempt_at = timezone.now() + outbound_backoff(
                    attempts=outbound.attempts
                )
                outbound.save(update_fields=["last_error", "next_attempt_at"])
                transaction.on_commit(
                    partial(
                        deliver_outbound.using(run_after=outbound.next_attempt_at).enqueue,
                        outbound_id=outbound.pk,
                    )
                )
            _on_commit_changed(outbound.message.ticket)
        logger.info("Delivery of outbound %s failed: %s", outbound.pk, exc)
        return DeliveryStatus(outbound.status)
    with transaction.atomic():
        outbound.status = DeliveryStatus.SENT
        outbound.sent_at = timezone.now()
        outbound.last_error = ""
        outbound.save(update_fields=["status", "sent_at", "last_error"])
        events.delivery_succeeded(outbound=outbound)
        _on_commit_changed(outbound.message.ticket)
    return outbound.status


@transaction.atomic
def outbound_retry(*, outbound: OutboundMessage, actor: User) -> None:
    """An agent asks to try a failed delivery again."""
    from tickets.tasks import deliver_outbound

    updated = OutboundMessage.objects.filter(pk=outbound.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None
    )
    if updated:
        transaction.on_commit(partial(deliver_outbound.enqueue, outbound_id=outbound.pk))
