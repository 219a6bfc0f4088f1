"""A drain run's deliveries in batches: the customers' messages of many deliveries go to
the write path together (docs/write_path.md).

``deliveries_process_together`` takes the ids of stored deliveries (a slice of a drain
run) and handles all their events in one transaction: one query each for the events
already stored, the accounts, the contacts and their open conversations; then each event
in order, the customers' messages planned and handed to ``tickets.write_path`` in one
batch per round (a second message from a person whose first opens a ticket in the same
round waits for the round to be written, so one person never gets two conversations);
everything else (receipts, reactions, comments, mentions, rating answers, echoes) runs
the single-event code of ``social.services`` as before. Then one INSERT of the events'
rows and one UPDATE of the deliveries.

A rule's refusal (a blocked customer, a closed ticket) is the event's outcome, and the
write path sets a message that fails the database aside alone (FAILED, with why). Any
other failure rolls the whole slice back, and the caller does it again delivery by
delivery (``services.delivery_process``), each event in its own transaction, so a bad
event is still set aside alone. A second worker storing the same event meanwhile fails
the slice's INSERT the same way, and the delivery-by-delivery pass skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import UserError
from core.rows_insert import rows_insert
from core.rows_update import rows_update
from policy.loader import get_policy
from social import services
from social.models import (
    ConversationKind,
    DeliveryStatus,
    EventOutcome,
    InboundEvent,
    SocialAccount,
    SocialContact,
    SocialConversation,
    WebhookDelivery,
)
from social.payloads import IncomingEvent, PayloadError
from tickets.attachments import CheckedUpload
from tickets.choices import TicketStatus
from tickets.models import Message
from tickets.write_path import MessageToAppend, Outcome, TicketToOpen, messages_append, tickets_open

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Event:
    """One new event of the slice, with what was fetched for it before the transaction."""

    delivery: WebhookDelivery
    event: IncomingEvent
    account: SocialAccount | None
    record: InboundEvent
    name: str = ""
    uploads: list[CheckedUpload] = field(default_factory=list)
    refused: list[services.NotKept] = field(default_factory=list)


@dataclass
class _Planned:
    """A customer's message bound for the write path: on ``conversation``'s ticket, or
    opening one when it is None."""

    item: _Event
    contact: SocialContact
    conversation: SocialConversation | None
    body: str


@dataclass
class _Round:
    planned: list[_Planned] = field(default_factory=list)
    # Contacts whose message opens a ticket in this round.
    opening: set[int] = field(default_factory=set)
    # Contacts whose window or conversation id moved (written at the end of the slice).
    moved: set[int] = field(default_factory=set)


def deliveries_process_together(delivery_ids: Sequence[int]) -> int:
    """Handle every event of these deliveries in one transaction; returns how many
    events were new. Raises whatever fails the slice (nothing of it is then kept)."""
    deliveries = list(
        WebhookDelivery.objects.filter(pk__in=delivery_ids)
        .exclude(status=DeliveryStatus.PROCESSED)
        .order_by("pk")
    )
    if not deliveries:
        return 0
    items = _new_events(deliveries)
    with transaction.atomic():
        contacts = _contacts_locked(items)
        _contacts_new(items, contacts)
        conversations = _open_conversations(list(contacts.values()))
        batch = _Round()
        for item in items:
            planned = _plan(item, contacts, conversations, batch)
            if planned is None:
                continue
            batch.planned.append(planned)
            if planned.conversation is None:
                batch.opening.add(planned.contact.pk)
        _store(batch, conversations)
        _contacts_write(contacts, batch)
        rows_insert([item.record for item in items])
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            status=DeliveryStatus.PROCESSED, processed_at=timezone.now()
        )
    return len(items)


def _new_events(deliveries: list[WebhookDelivery]) -> list[_Event]:
    """The events not stored yet (a retried delivery repeats them), each once, with its
    account and what the network gives for it (attachments, a profile name), fetched
    before the transaction as ``services.event_process`` does."""
    pairs: list[tuple[WebhookDelivery, IncomingEvent]] = []
    for delivery in deliveries:
        try:
            pairs += [(delivery, event) for event in services._events_of(delivery)]
        except (PayloadError, KeyError, TypeError) as exc:  # the view checked it
            logger.warning("Social delivery %s unreadable: %s", delivery.pk, exc)
    keys = Q()
    for _delivery, event in pairs:
        keys |= Q(platform=event.platform, key=event.key)
    seen = set(InboundEvent.objects.filter(keys).values_list("platform", "key")) if pairs else set()
    account_keys = {(e.platform, e.account_id) for _d, e in pairs}
    accounts: dict[tuple[str, str], SocialAccount] = {}
    if account_keys:
        wanted = Q()
        for platform, external_id in account_keys:
            wanted |= Q(platform=platform, external_id=external_id)
        accounts = {
            (a.platform, a.external_id): a
            for a in SocialAccount.objects.filter(wanted, active=True)
        }
    # Senders with a contact already: their profile name is not fetched again.
    senders = Q()
    for _delivery, event in pairs:
        account = accounts.get((event.platform, event.account_id))
        if account is not None and event.sender_id:
            senders |= Q(account_id=account.pk, sender_id=event.sender_id)
    known = (
        set(SocialContact.objects.filter(senders).values_list("account_id", "sender_id"))
        if senders
        else set()
    )
    items: list[_Event] = []
    nameless: dict[tuple[int, str], list[_Event]] = {}
    for delivery, event in pairs:
        if (event.platform, event.key) in seen:
            continue
        seen.add((event.platform, event.key))
        account = accounts.get((event.platform, event.account_id))
        item = _Event(
            delivery=delivery,
            event=event,
            account=account,
            record=services.event_row(delivery=delivery, account=account, event=event),
        )
        if account is not None and event.kind == services.EventKind.MENTION:
            services._read_mention(account=account, event=event)
        kinds = services.MESSAGE_KINDS | services.COMMENT_KINDS
        if account is not None and event.kind in kinds and event.attachments:
            item.uploads, item.refused = services._fetch_attachments(account=account, event=event)
        if account is not None and event.kind in services.MESSAGE_KINDS:
            item.name = event.sender_name
            if not item.name and (account.pk, event.sender_id) not in known:
                nameless.setdefault((account.pk, event.sender_id), []).append(item)
        elif event.kind in services.COMMENT_KINDS:
            item.name = event.sender_name
        items.append(item)
    # The names of the new senders, once each, asked of the platform side by side.
    firsts = [(group[0].account, group[0].event) for group in nameless.values()]
    names = services.profile_names([(a, e) for a, e in firsts if a is not None])
    for group, name in zip(nameless.values(), names, strict=True):
        for item in group:
            item.name = name
    return items


def _is_plain_message(item: _Event) -> bool:
    """A customer's message (not a rating answer) from a known sender to an account of
    ours: the batched case."""
    event = item.event
    return (
        item.account is not None
        and event.kind in services.MESSAGE_KINDS
        and bool(event.sender_id)
        and not event.payload.startswith(services.RATING_PAYLOAD)
        and not event.text.strip().isdigit()
    )


def _contacts_locked(items: list[_Event]) -> dict[tuple[int, str], SocialContact]:
    """The contacts of the slice's message senders, locked in one query (as
    ``services._contact`` locks each), by (account, sender id)."""
    wanted = Q()
    any_wanted = False
    for item in items:
        if _is_plain_message(item):
            assert item.account is not None
            wanted |= Q(account_id=item.account.pk, sender_id=item.event.sender_id)
            any_wanted = True
    if not any_wanted:
        return {}
    return {
        (contact.account_id, contact.sender_id): contact
        for contact in SocialContact.objects.select_for_update(no_key=True)
        .filter(wanted)
        .select_related("user", "account")
        .order_by("pk")
    }


def _contacts_new(items: list[_Event], contacts: dict[tuple[int, str], SocialContact]) -> None:
    """The contacts of senders new to us whose events in the slice are all plain
    messages, created together (``services.contacts_create``) from their first message,
    instead of one ``services._contact`` each. A sender with another kind of event in
    the slice is left to the single-event code, in order, as before."""
    others = {
        (item.account.pk if item.account else None, item.event.sender_id)
        for item in items
        if not _is_plain_message(item)
    }
    new: dict[tuple[int, str], _Event] = {}
    for item in items:
        if not _is_plain_message(item):
            continue
        assert item.account is not None
        key = (item.account.pk, item.event.sender_id)
        if key not in contacts and key not in others:
            new.setdefault(key, item)
    if not new:
        return
    created = services.contacts_create(
        senders=[(item.account, item.event, item.name) for item in new.values() if item.account]
    )
    contacts.update(zip(new, created, strict=True))


def _open_conversations(contacts: list[SocialContact]) -> dict[int, SocialConversation]:
    """Each contact's latest messages conversation that is not closed, in one query
    (``services._open_conversation`` for many)."""
    found: dict[int, SocialConversation] = {}
    if not contacts:
        return found
    for conversation in (
        SocialConversation.objects.filter(contact__in=contacts, kind=ConversationKind.MESSAGES)
        .exclude(ticket__status=TicketStatus.CLOSED)
        .select_related("ticket")
        .order_by("contact_id", "-ticket__created_at")
    ):
        found.setdefault(conversation.contact_id, conversation)
    return found


def _plan(
    item: _Event,
    contacts: dict[tuple[int, str], SocialContact],
    conversations: dict[int, SocialConversation],
    batch: _Round,
) -> _Planned | None:
    """A customer's message planned for the round, or None when the event was handled
    here (by the single-event code, after the round so far was written)."""
    event, account = item.event, item.account
    if not _is_plain_message(item):
        _store(batch, conversations)
        _contacts_write(contacts, batch)
        _act_alone(item)
        if item.account is not None:
            # The single-event code may have moved the contact: read again if needed.
            contacts.pop((item.account.pk, event.sender_id), None)
        return None
    assert account is not None
    contact = contacts.get((account.pk, event.sender_id))
    if contact is not None and contact.pk in batch.opening:
        # Its ticket is being opened in this round: known once written.
        _store(batch, conversations)
    if contact is None:
        contact = services._contact(account=account, event=event, name=item.name)
        contacts[(account.pk, event.sender_id)] = contact
    else:
        _window_opened(contact, event, batch.moved)
    conversation = conversations.get(contact.pk)
    if (
        conversation is not None
        and conversation.category_asked_at is not None
        and not conversation.ticket.category
        and _may_answer_category(event)
    ):
        # A quick reply or a typed answer to the category question files the ticket.
        services._answer(conversation=conversation, event=event, record=item.record)
        conversation.ticket.refresh_from_db(fields=["category"])
    body = event.text.strip()
    if not body and not item.uploads:
        body = "(attachment not kept)" if item.refused else "(empty message)"
    return _Planned(item=item, contact=contact, conversation=conversation, body=body)


def _contacts_write(contacts: dict[tuple[int, str], SocialContact], batch: _Round) -> None:
    """The contacts whose window moved, in one UPDATE."""
    moved, batch.moved = batch.moved, set()
    written = [c for c in contacts.values() if c.pk in moved]
    rows_update(
        SocialContact,
        [c.pk for c in written],
        changed={
            name: {c.pk: getattr(c, name) for c in written}
            for name in ("last_inbound_at", "conversation_id")
        },
    )


def _may_answer_category(event: IncomingEvent) -> bool:
    """Whether ``services._answer`` could take the message for an answer to the category
    question (a typed number is never a plain message here)."""
    if event.payload.startswith(services.CATEGORY_PAYLOAD):
        return True
    text = event.text.strip().lower()
    return any(c.name.lower() == text for c in get_policy().categories)


def _window_opened(contact: SocialContact, event: IncomingEvent, moved: set[int]) -> None:
    """``services._contact``'s bookkeeping for a contact already locked, in memory; the
    contacts ``moved`` are written together at the end of the slice."""
    at = event.sent_at or timezone.now()
    if contact.last_inbound_at is None or at > contact.last_inbound_at:
        contact.last_inbound_at = at
        moved.add(contact.pk)
    if event.conversation_id and event.conversation_id != contact.conversation_id:
        contact.conversation_id = event.conversation_id
        moved.add(contact.pk)


def _act_alone(item: _Event) -> None:
    """Everything but a plain customer message: the single-event code, in a savepoint,
    with ``services.event_process``'s outcomes."""
    services.act_recorded(
        record=item.record,
        event=item.event,
        account=item.account,
        name=item.name,
        uploads=item.uploads,
        refused=item.refused,
    )


def _store(batch: _Round, conversations: dict[int, SocialConversation]) -> None:
    """Write the round's messages through the write path (appends, then new tickets),
    then each event's own rest; the round is emptied."""
    planned, batch.planned = batch.planned, []
    batch.opening = set()
    if not planned:
        return
    appending = [p for p in planned if p.conversation is not None]
    appended = messages_append(
        [
            MessageToAppend(
                ticket=p.conversation.ticket,
                author=p.contact.user,
                body=p.body,
                uploads=p.item.uploads,
                channel=p.item.event.platform,
                external_id=p.item.event.key,
            )
            for p in appending
            if p.conversation is not None
        ]
    )
    for p, outcome in zip(appending, appended, strict=True):
        message = _settled(p, outcome)
        if message is not None:
            services._record_not_kept(
                record=p.item.record,
                message=message,
                event=p.item.event,
                account=p.contact.account,
                refused=p.item.refused,
            )
    opening = [p for p in planned if p.conversation is None]
    opened = tickets_open(
        [
            TicketToOpen(
                requester=p.contact.user,
                channel=p.item.event.platform,
                body=p.body,
                uploads=p.item.uploads,
                external_id=p.item.event.key,
                author_name=p.contact.name,
            )
            for p in opening
        ]
    )
    new: list[tuple[_Planned, SocialConversation]] = []
    for p, ticket_outcome in zip(opening, opened, strict=True):
        ticket = _settled(p, ticket_outcome)
        if ticket is not None:
            new.append((p, SocialConversation(ticket=ticket, contact=p.contact)))
    if not new:
        return
    rows_insert([conversation for _p, conversation in new])
    firsts = {
        (m.channel, m.external_id): m
        for m in Message.objects.filter(
            ticket_id__in=[c.ticket_id for _p, c in new],
            external_id__in=[p.item.event.key for p, _c in new],
        )
    }
    for p, conversation in new:
        conversations[p.contact.pk] = conversation
        message = firsts[(p.item.event.platform, p.item.event.key)]
        message.ticket = conversation.ticket
        if not conversation.ticket.category:
            services.social_ask_category(conversation=conversation)
        services._record_not_kept(
            record=p.item.record,
            message=message,
            event=p.item.event,
            account=p.contact.account,
            refused=p.item.refused,
        )


def _settled(planned: _Planned, outcome: Outcome[T]) -> T | None:
    """The written value, or None with the event's record saying why it was not."""
    if outcome.error is None:
        return outcome.value
    record, error = planned.item.record, outcome.error
    if isinstance(error, UserError):
        # A ticket rule said no (a closed ticket, a conduct block...): kept with why.
        record.outcome, record.reason = EventOutcome.REFUSED, f"{error.code}: {error.message}"
        logger.info("Social event %s refused: %s", planned.item.event.key, record.reason)
    else:
        logger.error("Social event %s failed", planned.item.event.key, exc_info=error)
        record.outcome, record.reason = EventOutcome.FAILED, f"{type(error).__name__}: {error}"
    record.reason = record.reason[:2000]
    return None
