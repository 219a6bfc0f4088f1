"""Writes for the social channels: processing stored webhook deliveries into tickets,
asking for a category and a rating with quick replies, recording the answers.

Intake never blocks the webhook: the view stores the raw delivery and makes sure a
"drain" task will run after it (``drain_soon``), which works through every stored delivery
in order (``deliveries_process_received``). Each event is handled in its own transaction
that starts by inserting its ``InboundEvent`` row. The row's unique key is the duplicate
check (a retried delivery fails the insert and is skipped), and because the row and the
ticket message commit together, a crash mid-delivery leaves the unfinished events to be
done again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from core.coalesce import PlannedRun
from core.errors import UserError, is_transient_database_error
from core.rows_insert import rows_insert
from policy.loader import get_policy
from social import clients
from social.models import (
    CommentReply,
    ConversationKind,
    DeliveryStatus,
    EventKind,
    EventOutcome,
    InboundEvent,
    Platform,
    PublicComment,
    QuickReplyOffer,
    ReplyVisibility,
    SocialAccount,
    SocialContact,
    SocialConversation,
    SocialMediaLink,
    WebhookDelivery,
)
from social.payloads import (
    IncomingEvent,
    PayloadError,
    load_object,
    meta_events,
    tiktok_event,
)
from tickets import services as ticket_services
from tickets.attachments import CheckedUpload, check_uploads
from tickets.choices import DeliveryStatus as OutboundStatus
from tickets.choices import TicketStatus
from tickets.exceptions import AttachmentRejected
from tickets.models import Attachment, Message, Ticket

logger = logging.getLogger(__name__)

CATEGORY_PAYLOAD = "CATEGORY:"
RATING_PAYLOAD = "RATING:"
MESSAGE_KINDS = {EventKind.MESSAGE, EventKind.QUICK_REPLY, EventKind.POSTBACK}
COMMENT_KINDS = {EventKind.COMMENT, EventKind.MENTION}
# Meta accepts one private reply per comment, sent within 7 days of the comment.
PRIVATE_REPLY_WINDOW = dt.timedelta(days=7)


# --- Storing and processing deliveries


def delivery_store(*, source: str, body: bytes, event_count: int) -> WebhookDelivery:
    """Keep the raw delivery and make sure it will be processed. Called by the webhook
    before it answers 200, so an acknowledged delivery is never lost: it is committed
    here, and a drain that starts after this commit will handle it."""
    delivery = WebhookDelivery.objects.create(source=source, body=body, event_count=event_count)
    transaction.on_commit(drain_soon)
    return delivery


# One task row per delivery cost the webhook a third of its time and the worker a claim
# per delivery; at hundreds of deliveries a second, one drain per fraction of a second
# does the same work.
planned_drain = PlannedRun()


def drain_soon() -> None:
    """Queue a drain unless one this process queued has yet to start (and so will see
    the delivery just committed). If the process dies between the commit and this, no
    200 was sent (Meta delivers again), and ``serve`` or ``social_requeue`` picks the
    delivery up."""
    from social.tasks import process_received_deliveries

    delay = dt.timedelta(seconds=settings.IZONIE_SOCIAL_DRAIN_DELAY_SECONDS)
    planned = planned_drain.plan(delay=delay)
    if planned is not None:
        process_received_deliveries.using(run_after=planned).enqueue()


@dataclass(frozen=True)
class DrainResult:
    new_events: int
    finished: bool  # False: the time budget ran out with deliveries still waiting


def deliveries_process_received(
    *, batch: int = 200, max_seconds: float | None = None
) -> DrainResult:
    """Process the deliveries still waiting, oldest first, each once per run (one that
    fails unexpectedly is logged and left for the next run), for at most ``max_seconds``
    when given."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    new = 0
    after = 0
    while True:
        waiting = list(
            WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not waiting:
            return DrainResult(new_events=new, finished=True)
        size = settings.IZONIE_SOCIAL_DRAIN_SLICE
        for start in range(0, len(waiting), size):
            chunk = waiting[start : start + size]
            after = chunk[-1]
            new += _deliveries_process(chunk)
            # Checked after a slice, so that every run makes progress.
            if deadline is not None and time.monotonic() >= deadline:
                return DrainResult(new_events=new, finished=False)


# Tries of one delivery when the database fails it for a passing reason (a deadlock, an
# outage); after them it waits for the next drain, as any failing delivery does.
TRANSIENT_ATTEMPTS = 3


def _deliveries_process(delivery_ids: list[int]) -> int:
    """The slice together; if that fails, delivery by delivery, so that only what is
    wrong is set aside (a delivery that still fails is logged and left for the next
    run)."""
    from social.drain import deliveries_process_together

    try:
        return deliveries_process_together(delivery_ids)
    except Exception:
        if len(delivery_ids) > 1:
            logger.warning("Social deliveries together failed; one by one now", exc_info=True)
    new = 0
    for delivery_id in delivery_ids:
        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                new += delivery_process(delivery_id=delivery_id)
            except Exception as exc:
                if is_transient_database_error(exc) and attempt + 1 < TRANSIENT_ATTEMPTS:
                    # Two workers on one new sender can deadlock on its account's
                    # username; PostgreSQL's advice is to run the transaction again.
                    logger.warning("Social delivery %s: %s; trying again", delivery_id, exc)
                    time.sleep(0.2 * (attempt + 1))
                    continue
                logger.exception("Social delivery %s could not be processed", delivery_id)
            break
    return new


def _events_of(delivery: WebhookDelivery) -> list[IncomingEvent]:
    data = load_object(bytes(delivery.body))
    if delivery.source == "tiktok":
        return [tiktok_event(data)]
    return meta_events(data)


def delivery_process(*, delivery_id: int) -> int:
    """Handle every event of a stored delivery; safe to run late or twice. Returns how
    many events were new."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.status == DeliveryStatus.PROCESSED:
        return 0
    try:
        incoming = _events_of(delivery)
    except (PayloadError, KeyError, TypeError) as exc:  # the view checked it; be safe anyway
        logger.warning("Social delivery %s unreadable: %s", delivery.pk, exc)
        incoming = []
    accounts: dict[tuple[str, str], SocialAccount | None] = {}
    new = 0
    for event in incoming:
        account_key = (event.platform, event.account_id)
        if account_key not in accounts:
            accounts[account_key] = SocialAccount.objects.filter(
                platform=event.platform, external_id=event.account_id, active=True
            ).first()
        if event_process(delivery=delivery, event=event, account=accounts[account_key]):
            new += 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PROCESSED, processed_at=timezone.now()
    )
    return new


def delivery_requeue_stale(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> int:
    """Queue a drain when deliveries are still unprocessed after ``older_than`` (a worker
    died while on them). Processing is idempotent, so a second run does no harm. Returns
    how many were waiting."""
    from social.tasks import process_received_deliveries

    stale = WebhookDelivery.objects.filter(
        status=DeliveryStatus.RECEIVED, received_at__lt=timezone.now() - older_than
    ).count()
    if stale:
        process_received_deliveries.enqueue()
    return stale


def _already_stored(event: IncomingEvent) -> bool:
    # Only spares a second download; the unique constraint is what prevents doubles.
    return InboundEvent.objects.filter(platform=event.platform, key=event.key).exists()


def event_row(
    *, delivery: WebhookDelivery, account: SocialAccount | None, event: IncomingEvent
) -> InboundEvent:
    """The (unsaved) row that records one event of a delivery, before it is acted on."""
    return InboundEvent(
        delivery=delivery,
        account=account,
        platform=event.platform,
        key=event.key,
        kind=event.kind,
        sender_id=event.sender_id,
        outcome=EventOutcome.RECORDED,
    )


def event_process(
    *, delivery: WebhookDelivery, event: IncomingEvent, account: SocialAccount | None
) -> bool:
    """Store one event once and act on it. Returns False for a duplicate."""
    if _already_stored(event):
        return False
    uploads: list[CheckedUpload] = []
    refused: list[NotKept] = []
    if account is not None and event.kind == EventKind.MENTION:
        _read_mention(account=account, event=event)
    if account is not None and event.kind in MESSAGE_KINDS | COMMENT_KINDS and event.attachments:
        uploads, refused = _fetch_attachments(account=account, event=event)
    name = ""
    if account is not None and event.kind in MESSAGE_KINDS:
        name = event.sender_name or _profile_name_if_new(account=account, event=event)
    elif event.kind in COMMENT_KINDS:
        name = event.sender_name
    with transaction.atomic():
        record = event_row(delivery=delivery, account=account, event=event)
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError:
            return False  # stored concurrently by another worker
        act_recorded(
            record=record,
            event=event,
            account=account,
            name=name,
            uploads=uploads,
            refused=refused,
        )
        record.save()
    return True


def act_recorded(
    *,
    record: InboundEvent,
    event: IncomingEvent,
    account: SocialAccount | None,
    name: str,
    uploads: Sequence[CheckedUpload],
    refused: list[NotKept],
) -> None:
    """Act on one event in a savepoint; its outcome and reason go on ``record`` (not
    saved): refused by a ticket rule, or failed, the event is kept with why."""
    try:
        with transaction.atomic():
            _act(
                record=record,
                event=event,
                account=account,
                name=name,
                uploads=uploads,
                refused=refused,
            )
    except UserError as exc:
        # A ticket rule said no (a closed ticket, a conduct block...): kept with why.
        record.outcome, record.reason = EventOutcome.REFUSED, f"{exc.code}: {exc.message}"
        logger.info("Social event %s refused: %s", event.key, record.reason)
    except Exception as exc:
        if is_transient_database_error(exc):
            # A deadlock or an outage: not the event's fault. Nothing of the delivery is
            # kept, so it stays waiting and is tried again (_deliveries_process).
            raise
        logger.exception("Social event %s failed", event.key)
        record.outcome, record.reason = EventOutcome.FAILED, f"{type(exc).__name__}: {exc}"
    record.reason = record.reason[:2000]


def _act(
    *,
    record: InboundEvent,
    event: IncomingEvent,
    account: SocialAccount | None,
    name: str,
    uploads: Sequence[CheckedUpload],
    refused: list[NotKept],
) -> None:
    if account is None:
        record.outcome = EventOutcome.IGNORED
        record.reason = (
            f"No active {Platform(event.platform).label} account with id {event.account_id!r} "
            "is configured here."
        )
        logger.warning("Social event for unknown account %s ignored", event.account_id)
        return
    if event.kind == EventKind.ECHO:
        record.outcome, record.reason = EventOutcome.IGNORED, "echo of a message we sent"
        return
    if event.kind == EventKind.OTHER:
        record.outcome, record.reason = EventOutcome.IGNORED, "not an event this channel handles"
        return
    if not event.sender_id:
        record.outcome, record.reason = EventOutcome.IGNORED, "no sender"
        return
    if event.kind in (EventKind.READ, EventKind.DELIVERY, EventKind.REACTION):
        _record_signal(record=record, event=event, account=account)
        return
    if event.kind in COMMENT_KINDS:
        _public_comment(
            record=record,
            event=event,
            account=account,
            name=name,
            uploads=uploads,
            refused=refused,
        )
        return
    contact = _contact(account=account, event=event, name=name)
    if _rating_answer(contact=contact, event=event, record=record):
        return
    conversation = _open_conversation(contact)
    if conversation is not None and _answer(conversation=conversation, event=event, record=record):
        return
    _customer_message(
        record=record,
        event=event,
        contact=contact,
        conversation=conversation,
        uploads=uploads,
        refused=refused,
    )


def _record_signal(*, record: InboundEvent, event: IncomingEvent, account: SocialAccount) -> None:
    """Receipts and reactions are kept on the event row, not as ticket messages."""
    contact = SocialContact.objects.filter(account=account, sender_id=event.sender_id).first()
    record.reason = event.detail[:500]
    if contact is None:
        return
    conversation = _open_conversation(contact)
    record.ticket = conversation.ticket if conversation else None
    if event.kind == EventKind.READ and event.sent_at:
        SocialContact.objects.filter(pk=contact.pk).update(last_read_at=event.sent_at)


@dataclass
class NotKept:
    """An attachment not downloaded or not accepted, with where it came from (for the
    agent to see and to retry)."""

    label: str
    reason: str
    url: str = ""
    media_id: str = ""


def _download(
    *, account: SocialAccount, url: str, media_id: str, conversation_id: str, message_key: str
) -> tuple[str, CheckedUpload]:
    """Fetch one attachment and check it like an upload. Returns the URL it came from.
    Raises AttachmentNotFetched, PlatformError or AttachmentRejected."""
    limits = get_policy().attachments
    if media_id:
        url = clients.tiktok_media_url(
            account=account,
            conversation_id=conversation_id,
            message_id=message_key,
            media_id=media_id,
        )
    if not url.startswith(("https://", "http://")):
        raise clients.AttachmentNotFetched("the platform gave no usable address")
    file = clients.attachment_fetch(url=url, max_bytes=limits.max_bytes)
    upload = SimpleUploadedFile(file.filename, file.content, content_type=file.content_type)
    return url, check_uploads([upload])[0]


def _fetch_attachments(
    *, account: SocialAccount, event: IncomingEvent
) -> tuple[list[CheckedUpload], list[NotKept]]:
    limits = get_policy().attachments
    kept: list[CheckedUpload] = []
    refused: list[NotKept] = []
    for index, remote in enumerate(event.attachments):
        label = f"{remote.kind} {index + 1}"
        if len(kept) >= limits.max_per_message:
            reason = f"more than {limits.max_per_message} files in one message"
            refused.append(NotKept(label, reason, remote.url, remote.media_id))
            continue
        try:
            _url, checked = _download(
                account=account,
                url=remote.url,
                media_id=remote.media_id,
                conversation_id=event.conversation_id,
                message_key=event.key,
            )
            kept.append(checked)
        except (clients.AttachmentNotFetched, clients.PlatformError) as exc:
            refused.append(NotKept(label, str(exc), remote.url, remote.media_id))
        except AttachmentRejected as exc:
            refused.append(NotKept(label, exc.message, remote.url, remote.media_id))
    return kept, refused


def _profile_name_if_new(*, account: SocialAccount, event: IncomingEvent) -> str:
    known = SocialContact.objects.filter(account=account, sender_id=event.sender_id).exists()
    return "" if known else profile_name(account=account, event=event)


def profile_name(*, account: SocialAccount, event: IncomingEvent) -> str:
    """The sender's name from the platform, for a sender without a contact yet."""
    if account.platform == Platform.TIKTOK:
        return ""
    return clients.meta_profile_name(account=account, sender_id=event.sender_id)


def profile_names(senders: Sequence[tuple[SocialAccount, IncomingEvent]]) -> list[str]:
    """``profile_name`` for the new senders of a slice, once each (the drain asked once
    per message). One after another: side by side (8 threads) was measured slower
    against the loopback platform of ``bench.social_intake`` (204 against 473-658
    events/s), the threads and new connections costing more than the round trips."""
    return [profile_name(account=account, event=event) for account, event in senders]


def _customer_unsaved(*, account: SocialAccount, sender_id: str, name: str) -> User:
    """A customer account for a person known only by their platform id: no password, no
    email (they can give one later; an agent can merge)."""
    user = User(
        username=f"{account.platform}-{account.pk}-{sender_id}"[:150],
        display_name=name or f"{Platform(account.platform).label} user {sender_id[-6:]}",
        role=Role.BUYER,
    )
    user.set_unusable_password()
    return user


def _customer_for(*, account: SocialAccount, sender_id: str, name: str) -> User:
    user = _customer_unsaved(account=account, sender_id=sender_id, name=name)
    user.save()
    return user


def contacts_create(
    *, senders: Sequence[tuple[SocialAccount, IncomingEvent, str]]
) -> list[SocialContact]:
    """``_contact`` for senders without a contact, each given with its first direct
    message and its name: their customer accounts in one INSERT, their contacts in
    another, the messaging window opened by that message. Inside the caller's
    transaction; a contact created meanwhile by another worker fails it (the caller then
    goes event by event, through ``_contact``). The new accounts are customers, in no
    team: no team list to forget (what saving an account one by one would signal)."""
    users = rows_insert(
        [
            _customer_unsaved(account=account, sender_id=event.sender_id, name=name)
            for account, event, name in senders
        ]
    )
    now = timezone.now()
    return rows_insert(
        [
            SocialContact(
                account=account,
                sender_id=event.sender_id,
                user=user,
                name=name,
                conversation_id=event.conversation_id,
                last_inbound_at=event.sent_at or now,
            )
            for (account, event, name), user in zip(senders, users, strict=True)
        ]
    )


def _contact(
    *, account: SocialAccount, event: IncomingEvent, name: str, opens_window: bool = True
) -> SocialContact:
    """The sender's contact, locked: two deliveries from one person are handled one after
    the other, so they cannot open two conversations. A public comment does not open the
    messaging window (``opens_window=False``): only a direct message does."""
    contact = (
        SocialContact.objects.select_for_update(no_key=True)
        .filter(account=account, sender_id=event.sender_id)
        .first()
    )
    if contact is None:
        try:
            with transaction.atomic():
                contact = SocialContact.objects.create(
                    account=account,
                    sender_id=event.sender_id,
                    user=_customer_for(account=account, sender_id=event.sender_id, name=name),
                    name=name,
                    conversation_id=event.conversation_id,
                )
        except IntegrityError:  # created concurrently: use that one
            contact = SocialContact.objects.select_for_update(no_key=True).get(
                account=account, sender_id=event.sender_id
            )
    updates: dict[str, object] = {}
    at = event.sent_at or timezone.now()
    if opens_window and (contact.last_inbound_at is None or at > contact.last_inbound_at):
        updates["last_inbound_at"] = at
    if event.conversation_id and event.conversation_id != contact.conversation_id:
        updates["conversation_id"] = event.conversation_id
    if updates:
        SocialContact.objects.filter(pk=contact.pk).update(**updates)
        for field, value in updates.items():
            setattr(contact, field, value)
    return contact


def _open_conversation(contact: SocialContact) -> SocialConversation | None:
    """The person's conversation that is not closed (a resolved one reopens when they
    write again, like email)."""
    return (
        SocialConversation.objects.filter(contact=contact, kind=ConversationKind.MESSAGES)
        .exclude(ticket__status=TicketStatus.CLOSED)
        .select_related("ticket")
        .order_by("-ticket__created_at")
        .first()
    )


def _rating_answer(*, contact: SocialContact, event: IncomingEvent, record: InboundEvent) -> bool:
    """A quick reply (or a typed score) answering our rating question, even on a ticket
    closed since. Returns True when the event was one and has been recorded."""
    payload, text = event.payload, event.text.strip()
    if not payload.startswith(RATING_PAYLOAD) and not text.isdigit():
        return False
    pending = (
        SocialConversation.objects.filter(
            contact=contact, rating_asked_at__isnull=False, rated_at__isnull=True
        )
        .select_related("ticket")
        .order_by("-rating_asked_at")
        .first()
    )
    score = (payload.removeprefix(RATING_PAYLOAD) if payload else text)[:4]
    if pending is None:
        if payload.startswith(RATING_PAYLOAD):
            record.outcome, record.reason = EventOutcome.IGNORED, "rating already recorded"
            return True
        return False  # a number typed in conversation, not a rating
    feedback = get_policy().feedback
    if not score.isdigit() or not feedback.scale_min <= int(score) <= feedback.scale_max:
        return False
    social_rating_received(ticket=pending.ticket, score=int(score))
    SocialConversation.objects.filter(pk=pending.pk).update(rated_at=timezone.now())
    record.ticket, record.reason = pending.ticket, f"rating {score}"
    return True


def _answer(
    *, conversation: SocialConversation, event: IncomingEvent, record: InboundEvent
) -> bool:
    """A quick reply (or a typed number) answering our category question files the ticket
    under that category; the answer is also kept as the customer's message (False)."""
    ticket = conversation.ticket
    if ticket.category or conversation.category_asked_at is None:
        return False
    categories = get_policy().categories
    key = ""
    if event.payload.startswith(CATEGORY_PAYLOAD):
        key = event.payload.removeprefix(CATEGORY_PAYLOAD)
    elif event.text.strip().isdigit() and 1 <= int(event.text.strip()) <= len(categories):
        key = categories[int(event.text.strip()) - 1].key
    else:
        key = next((c.key for c in categories if c.name.lower() == event.text.strip().lower()), "")
    if key in {c.key for c in categories}:
        from tickets.workflows import ticket_categorise_from_triage

        # The customer's own choice, routed as a choice made in the triage view is.
        ticket_categorise_from_triage(ticket=ticket, actor=ticket.requester, category=key)
    return False


def _customer_message(
    *,
    record: InboundEvent,
    event: IncomingEvent,
    contact: SocialContact,
    conversation: SocialConversation | None,
    uploads: Sequence[CheckedUpload],
    refused: list[NotKept],
) -> None:
    body = event.text.strip()
    if not body and not uploads:
        body = "(attachment not kept)" if refused else "(empty message)"
    message: Message
    if conversation is not None:
        message = ticket_services.ticket_customer_message(
            ticket=conversation.ticket,
            author=contact.user,
            body=body,
            uploads=uploads,
            channel=event.platform,
            external_id=event.key,
        )
        ticket = conversation.ticket
    else:
        ticket = ticket_services.ticket_open(
            requester=contact.user,
            channel=event.platform,
            body=body,
            uploads=uploads,
            external_id=event.key,
            author_name=contact.name,
        )
        conversation = SocialConversation.objects.create(ticket=ticket, contact=contact)
        message = ticket.messages.get(external_id=event.key)
        if not ticket.category:
            social_ask_category(conversation=conversation)
    _record_not_kept(
        record=record, message=message, event=event, account=contact.account, refused=refused
    )


def _record_not_kept(
    *,
    record: InboundEvent,
    message: Message,
    event: IncomingEvent,
    account: SocialAccount,
    refused: list[NotKept],
) -> None:
    """Each attachment not kept, on the message with why and where it came from."""
    for not_kept in refused:
        attachment = Attachment.objects.create(
            message=message,
            filename=not_kept.label[:255],
            content_type="application/octet-stream",
            size=0,
            kept=False,
            not_kept_reason=not_kept.reason[:200],
        )
        if not_kept.url or not_kept.media_id:
            SocialMediaLink.objects.create(
                attachment=attachment,
                account=account,
                url=not_kept.url,
                media_id=not_kept.media_id,
                conversation_id=event.conversation_id,
                message_key=event.key,
            )
    record.outcome, record.ticket, record.message = EventOutcome.STORED, message.ticket, message
    if refused:
        record.reason = "; ".join(f"{n.label}: {n.reason}" for n in refused)


# --- Public comments and mentions


def _read_mention(*, account: SocialAccount, event: IncomingEvent) -> None:
    """An Instagram mention names only ids: its text and author come from the API
    (before the event's transaction: a network call). Unreadable, it still reaches the
    agents, saying so."""
    found = clients.instagram_mentioned_comment(
        account=account, comment_id=event.comment_id, media_id=event.post_id
    )
    if found is not None:  # NUL stripped as for the webhook's own fields (PostgreSQL)
        event.text = found.text.replace("\x00", "")
        event.sender_name = found.username.replace("\x00", "")
    if not event.text:
        event.text = (
            "(An Instagram mention of our account; its text could not be read through the "
            f"API. Media {event.post_id}.)"
        )
    # Mentions carry no Instagram-scoped id: the username is the person's key.
    event.sender_id = f"@{event.sender_name}"[:64] if event.sender_name else "@unknown"


def _public_comment(
    *,
    record: InboundEvent,
    event: IncomingEvent,
    account: SocialAccount,
    name: str,
    uploads: Sequence[CheckedUpload],
    refused: list[NotKept],
) -> None:
    """A comment or mention becomes a customer message of the person's comments
    conversation on that post (a new ticket, marked as public comments, when there is
    none open). No category question or rating request is posted under a comment:
    triage and the agents categorise these."""
    contact = _contact(account=account, event=event, name=name, opens_window=False)
    conversation = (
        SocialConversation.objects.filter(
            contact=contact, kind=ConversationKind.COMMENTS, post_id=event.post_id
        )
        .exclude(ticket__status=TicketStatus.CLOSED)
        .select_related("ticket")
        .order_by("-ticket__created_at")
        .first()
    )
    body = event.text.strip()
    if not body and not uploads:
        body = "(attachment not kept)" if refused else "(empty comment)"
    if conversation is not None:
        message = ticket_services.ticket_customer_message(
            ticket=conversation.ticket,
            author=contact.user,
            body=body,
            uploads=uploads,
            channel=event.platform,
            external_id=event.key,
        )
    else:
        what = "mention" if event.kind == EventKind.MENTION else "comment"
        platform = Platform(event.platform).label
        first_line = body.splitlines()[0] if body else ""
        ticket = ticket_services.ticket_open(
            requester=contact.user,
            channel=event.platform,
            body=body,
            uploads=uploads,
            external_id=event.key,
            author_name=contact.name,
            subject=f"Public {what} on {platform}: {first_line}",
        )
        conversation = SocialConversation.objects.create(
            ticket=ticket, contact=contact, kind=ConversationKind.COMMENTS, post_id=event.post_id
        )
        message = ticket.messages.get(external_id=event.key)
    PublicComment.objects.create(
        conversation=conversation,
        message=message,
        kind=event.kind,
        comment_id=event.comment_id,
        post_id=event.post_id,
        parent_id=event.parent_id,
        commented_at=event.sent_at or timezone.now(),
    )
    _record_not_kept(record=record, message=message, event=event, account=account, refused=refused)


class CommentReplyRefused(UserError):
    code = "comment_reply_refused"


def social_comment_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    visibility: ReplyVisibility | str,
    status: TicketStatus | str | None = None,
    uploads: Sequence[CheckedUpload] = (),
) -> Message:
    """An agent answers a public-comment conversation: in public under the latest
    comment, or privately (one direct message per comment, within 7 days of it: Meta's
    private replies). Delivered by the outbox like any reply (``transports``)."""
    if uploads:
        raise CommentReplyRefused(
            "Replies to comments carry text only: describe the file, or answer privately "
            "and send it once the customer writes back.",
            field="photos",
        )
    with transaction.atomic():
        conversation = (
            SocialConversation.objects.select_for_update(no_key=True)
            .filter(ticket=ticket, kind=ConversationKind.COMMENTS)
            .first()
        )
        comment = (
            conversation.comments.order_by("-commented_at", "-pk").first()
            if conversation is not None
            else None
        )
        if comment is None:
            raise CommentReplyRefused("This ticket is not a public-comment conversation.")
        if visibility == ReplyVisibility.PRIVATE:
            _private_reply_check(comment)
        message = ticket_services.ticket_reply(
            ticket=ticket, author=author, body=body, status=status
        )
        CommentReply.objects.create(
            message=message, comment=comment, visibility=ReplyVisibility(visibility)
        )
        return message


def _private_reply_check(comment: PublicComment) -> None:
    if comment.kind == EventKind.MENTION:
        raise CommentReplyRefused(
            "A mention can only be answered in public: Meta's private replies are for "
            "comments on our own posts.",
            field="visibility",
        )
    answered = (
        CommentReply.objects.filter(comment=comment, visibility=ReplyVisibility.PRIVATE)
        .exclude(message__outbound__status=OutboundStatus.FAILED)
        .exists()
    )
    if answered or comment.private_reply_at:
        raise CommentReplyRefused(
            "This comment has already been answered privately: Meta accepts one private "
            "reply per comment. Answer in public, or wait for the customer to write back.",
            field="visibility",
        )
    if timezone.now() - comment.commented_at > PRIVATE_REPLY_WINDOW:
        raise CommentReplyRefused(
            "Meta accepts a private reply only within 7 days of the comment; this one is "
            "older. Answer in public instead.",
            field="visibility",
        )


# --- Questions with quick replies


def _ask(*, ticket: Ticket, body: str, options: list[dict[str, str]]) -> Message:
    message = ticket_services.ticket_system_reply(ticket=ticket, body=body)
    QuickReplyOffer.objects.create(message=message, options=options)
    return message


@transaction.atomic
def social_ask_category(*, conversation: SocialConversation) -> bool:
    """Ask once, with a quick reply per policy category, what the conversation is about
    (triage could not tell). Returns whether it asked."""
    claimed = SocialConversation.objects.filter(
        pk=conversation.pk, category_asked_at__isnull=True
    ).update(category_asked_at=timezone.now())
    if not claimed:
        return False
    policy = get_policy()
    options = [
        {"title": category.name[:20], "payload": f"{CATEGORY_PAYLOAD}{category.key}"}
        for category in policy.categories
    ]
    lines = "\n".join(f"{n}. {c.name}" for n, c in enumerate(policy.categories, start=1))
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=conversation.ticket_id)
    _ask(
        ticket=ticket,
        body=f"So we can pass this to the right team, what is it about?\n{lines}",
        options=options,
    )
    return True


@transaction.atomic
def social_ask_rating(ticket: Ticket) -> Message | None:
    """Ask the policy's feedback question with quick replies for each score (1–5 in
    Izonie's policy) on the ticket's social channel. Returns the question's message, or
    None when the ticket is not a social conversation. The feedback app calls this."""
    conversation = SocialConversation.objects.filter(ticket=ticket).first()
    if conversation is None or conversation.kind == ConversationKind.COMMENTS:
        return None  # never posted under a public comment
    feedback = get_policy().feedback
    SocialConversation.objects.filter(pk=conversation.pk).update(rating_asked_at=timezone.now())
    scores = range(feedback.scale_min, feedback.scale_max + 1)
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    return _ask(
        ticket=ticket,
        body=f"{feedback.question} ({feedback.scale_min} = poor, {feedback.scale_max} = excellent)",
        options=[{"title": str(score), "payload": f"{RATING_PAYLOAD}{score}"} for score in scores],
    )


def social_rating_received(*, ticket: Ticket, score: int, comment: str = "") -> None:
    """The customer answered the rating question: recorded like every channel's rating
    (one per solved interaction, changeable in the policy's window, low-score follow-up)."""
    from feedback.requests import resolution_interaction
    from feedback.services import feedback_record

    feedback_record(
        ticket=ticket,
        channel=ticket.channel,
        score=score,
        comment=comment,
        interaction=resolution_interaction(ticket),
        actor=ticket.requester,
    )


def social_rating_request(ticket: Ticket) -> None:
    """The feedback app's hook for a solved social conversation (runs after commit)."""
    with transaction.atomic():
        social_ask_rating(ticket)


# --- Attachments not kept: the agent tries again


@dataclass
class RetryResult:
    kept: bool
    reason: str


def social_attachment_retry_queue(*, attachment: Attachment) -> bool:
    """An agent asks for the download again: the worker tries it (a platform that is slow
    to answer never holds the agent's page). Returns False when a retry is already
    waiting, so a second click queues nothing more."""
    from social.tasks import retry_attachment_download

    queued = SocialMediaLink.objects.filter(
        attachment=attachment, retry_queued_at__isnull=True
    ).update(retry_queued_at=timezone.now())
    if queued:
        transaction.on_commit(
            partial(retry_attachment_download.enqueue, attachment_id=attachment.pk)
        )
    return bool(queued)


def social_attachment_retry(*, attachment: Attachment) -> RetryResult:
    """Download a customer's attachment that was not kept, again (the platform was down,
    the file was briefly unavailable, an allow-list entry was added). On success the
    same attachment row holds the file, so the thread shows it where it was."""
    link = SocialMediaLink.objects.select_related("account").get(attachment=attachment)
    if attachment.kept:
        SocialMediaLink.objects.filter(pk=link.pk).update(retry_queued_at=None)
        return RetryResult(kept=True, reason="")
    try:
        url, checked = _download(
            account=link.account,
            url=link.url,
            media_id=link.media_id,
            conversation_id=link.conversation_id,
            message_key=link.message_key,
        )
    except (clients.AttachmentNotFetched, clients.PlatformError) as exc:
        reason = str(exc)
    except AttachmentRejected as exc:
        reason = exc.message
    else:
        with transaction.atomic():
            locked = Attachment.objects.select_for_update(no_key=True).get(pk=attachment.pk)
            if locked.kept:  # a colleague's retry was quicker
                return RetryResult(kept=True, reason="")
            locked.filename = checked.filename
            locked.content_type = checked.content_type
            locked.size = checked.size
            locked.kept, locked.not_kept_reason = True, ""
            locked.file.save(checked.filename, checked.upload, save=False)
            locked.save()
            SocialMediaLink.objects.filter(pk=link.pk).update(
                url=url, retried_at=timezone.now(), retry_queued_at=None
            )
        return RetryResult(kept=True, reason="")
    Attachment.objects.filter(pk=attachment.pk, kept=False).update(not_kept_reason=reason[:200])
    SocialMediaLink.objects.filter(pk=link.pk).update(
        retried_at=timezone.now(), retry_queued_at=None
    )
    return RetryResult(kept=False, reason=reason)
