"""Conduct: screening every inbound customer message, the reminder, blocks, ending a
conversation for conduct, and the one request for photos.

``text_screened`` is called from ``tickets.services.ticket_open`` and
``ticket_customer_message`` before they open their transaction (screening is pure
computation on the customer's text: it never runs under the ticket's lock, nor under
SQLite's write lock), and ``message_screened`` acts on that verdict once the message is
stored, so every channel (chat, email, the contact form, the API, social messages) is
screened the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from conduct import screening
from conduct.exceptions import ConductActionError, ConductBlocked
from conduct.models import ConductBlock, ConductFlag, PhotoRequest
from policy.loader import get_policy
from tickets import events
from tickets.choices import Channel, Direction, TicketStatus
from tickets.models import Message, Ticket

logger = logging.getLogger(__name__)

MAX_REASON_CHARS = 500


def team_time_text(at: dt.datetime) -> str:
    local = at.astimezone(get_policy().calendar.zone)
    return f"{date_format(local, 'D j M Y, H:i')} {local.strftime('%Z')}".strip()


# --- Blocks


def block_active(*, customer: User, channel: str) -> ConductBlock | None:
    return (
        ConductBlock.objects.filter(
            customer=customer, channel=channel, lifted_at__isnull=True, ends_at__gt=timezone.now()
        )
        .order_by("-ends_at")
        .first()
    )


def block_check(*, customer: User, channel: str) -> None:
    """Refuse a new session while the customer is blocked on ``channel``."""
    if not customer.is_customer:
        return
    block = block_active(customer=customer, channel=channel)
    if block is not None:
        raise block_refusal(block)


def blocks_active_for(*, pairs: Iterable[tuple[User, str]]) -> dict[tuple[int, str], ConductBlock]:
    """``block_active`` for a batch of (customer, channel) pairs in one query: the latest
    active block of each pair that has one (support staff are never blocked)."""
    customer_ids = {customer.pk for customer, _channel in pairs if customer.is_customer}
    if not customer_ids:
        return {}
    blocks: dict[tuple[int, str], ConductBlock] = {}
    for block in ConductBlock.objects.filter(
        customer_id__in=customer_ids, lifted_at__isnull=True, ends_at__gt=timezone.now()
    ).order_by("-ends_at"):
        blocks.setdefault((block.customer_id, block.channel), block)
    return blocks


def block_refusal(block: ConductBlock) -> ConductBlocked:
    """The error a blocked customer's new session gets, naming when the block ends."""
    until = team_time_text(block.ends_at)
    return ConductBlocked(
        get_policy().conduct.blocked_message.replace("{until}", until), until=block.ends_at
    )


@transaction.atomic
def block_lift(*, block: ConductBlock, actor: User, reason: str = "") -> bool:
    """An admin or supervisor lifts a block early. Returns whether it was active."""
    if not actor.is_supervisor:
        raise ConductActionError("Only supervisors and admins can lift a block.")
    updated = ConductBlock.objects.filter(pk=block.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=actor, lift_reason=reason.strip()[:300]
    )
    if not updated:
        return False
    block.refresh_from_db()
    if block.ticket_id is not None and block.ticket is not None:
        events.conduct_block_lifted(
            ticket=block.ticket,
            actor=actor,
            block_id=block.pk,
            channel=block.channel,
            reason=block.lift_reason,
        )
    return True


def _violations_within(*, customer: User, channel: str, since: dt.datetime) -> int:
    return ConductFlag.objects.filter(
        customer=customer, channel=channel, created_at__gte=since, dismissed_at__isnull=True
    ).count()


def _block_if_repeated(*, flag: ConductFlag) -> ConductBlock | None:
    repeat = get_policy().conduct.repeat
    now = timezone.now()
    count = _violations_within(
        customer=flag.customer, channel=flag.channel, since=now - repeat.within.timedelta
    )
    if count < repeat.violations:
        return None
    if block_active(customer=flag.customer, channel=flag.channel) is not None:
        return None
    block = ConductBlock.objects.create(
        customer=flag.customer,
        channel=flag.channel,
        ticket=flag.ticket,
        violations=count,
        starts_at=now,
        ends_at=now + repeat.block_for.timedelta,
    )
    events.conduct_blocked(
        ticket=flag.ticket,
        actor=None,
        block_id=block.pk,
        channel=block.channel,
        until=block.ends_at.isoformat(),
        violations=count,
    )
    return block


# --- Screening


def text_screened(*, text: str, author: User | None) -> list[screening.Finding]:
    """The verdict on a customer's text before it is stored: what ``message_screened``
    acts on. No database, no lock; empty for anyone but a customer."""
    if author is None or not author.is_customer:
        return []
    return screening.screen_text(text, screening=get_policy().conduct.screening)


def message_screened(*, message: Message, findings: list[screening.Finding]) -> ConductFlag | None:
    """Act on the verdict (``text_screened``) for a stored inbound customer message:
    flag it, remind, block as the policy says. Caller holds the ticket's lock (inside
    ``ticket_open`` or ``ticket_customer_message``)."""
    from notifications.services import notify_ticket_owner
    from tickets.services import ticket_system_reply

    author = message.author
    if message.direction != Direction.INBOUND or author is None or not author.is_customer:
        return None
    policy = get_policy()
    if not findings:
        return None
    ticket = message.ticket
    first_on_ticket = not ConductFlag.objects.filter(ticket=ticket).exists()
    flag = ConductFlag.objects.create(
        message=message,
        ticket=ticket,
        customer=author,
        channel=message.channel,
        severity=str(screening.worst(findings)),
        findings=[finding.as_data() for finding in findings],
        reminded=first_on_ticket,
    )
    events.conduct_flagged(
        ticket=ticket,
        message=message,
        actor=None,
        severity=flag.severity,
        findings=flag.findings,
        reminded=first_on_ticket,
    )
    if first_on_ticket:
        ticket_system_reply(ticket=ticket, body=policy.conduct.reminder)
    block = _block_if_repeated(flag=flag)
    text = f"{flag.get_severity_display()} conduct flag on {ticket.reference}: " + ", ".join(
        flag.labels
    )
    if block is not None:
        text += f"; new {Channel(block.channel).label} sessions blocked until " + team_time_text(
            block.ends_at
        )
    notify_ticket_owner(ticket=ticket, kind="conduct", text=text)
    if message.channel == Channel.LIVE_CHAT:
        transaction.on_commit(partial(_chat_flag_hint, flag_id=flag.pk))
    return flag


def _chat_flag_hint(*, flag_id: int) -> None:
    """Tell the agents watching a live chat which message was flagged (on commit, when
    the chat entry of the message exists)."""
    from chat import relay
    from chat.models import ChatEntry

    flag = ConductFlag.objects.filter(pk=flag_id).first()
    entry = (
        ChatEntry.objects.select_related("session").filter(message_id=flag.message_id).first()
        if flag is not None
        else None
    )
    if flag is None or entry is None:
        return
    relay.send(
        relay.watch_group(entry.session.public_id),
        {
            "type": "conduct_flag",
            "session": str(entry.session.public_id),
            "message_seq": entry.seq,
            "severity": flag.severity,
            "labels": flag.labels,
        },
    )


@transaction.atomic
def flag_dismiss(*, flag: ConductFlag, actor: User) -> bool:
    """An agent judges a flag a false positive: it no longer counts towards a block."""
    if not actor.is_agent:
        raise ConductActionError("Only the support team can dismiss a conduct flag.")
    updated = ConductFlag.objects.filter(pk=flag.pk, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now(), dismissed_by=actor
    )
    if updated:
        events.conduct_flag_dismissed(ticket=flag.ticket, actor=actor, message_id=flag.message_id)
    return bool(updated)


# --- Ending a conversation for conduct


def ticket_end_for_conduct(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    """End the conversation for conduct on any channel, with a reason the customer sees.

    A live chat still running is ended through ``chat_end`` (the customer's widget shows
    the reason at once); any other conversation gets the reason as a reply on its
    channel and is closed. Both record a TERMINATED event.
    """
    from chat.models import ChatSession
    from chat.services import chat_end
    from tickets.services import ticket_system_reply, ticket_update

    reason = (reason or "").strip()[:MAX_REASON_CHARS]
    if not actor.is_agent:
        raise ConductActionError("Only the support team can end a conversation for conduct.")
    if not reason:
        raise ConductActionError(
            "Tell the customer why the conversation ends: the reason is required.",
            field="reason",
        )
    session = ChatSession.objects.filter(ticket=ticket).first()
    if session is not None and not session.is_ended:
        chat_end(session=session, by=actor, reason=reason, for_conduct=True)
        ticket.refresh_from_db()
        return ticket
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.is_closed:
            raise ConductActionError(f"{locked.reference} is already closed.")
        termination = get_policy().conduct.termination
        ticket_system_reply(
            ticket=locked,
            body=f"We are ending this conversation: {reason}\n\n{termination}",
        )
        events.session_terminated(ticket=locked, actor=actor, channel=locked.channel, reason=reason)
        return ticket_update(ticket=locked, actor=actor, status=TicketStatus.CLOSED)


# --- Clear communication: photos


def photos_wanted(*, ticket: Ticket) -> bool:
    """Whether the ticket's category asks a customer for photos (claimed once)."""
    if not ticket.category or not ticket.requester.is_customer:
        return False
    return get_policy().category(ticket.category).asks_for_photos


def photo_request_claim(*, ticket: Ticket, new_ticket_photos: bool | None = None) -> bool:
    """Claim the one photo request of a ticket whose category asks for photos and which
    has none yet. Returns whether the caller should ask now.

    ``new_ticket_photos``: for a ticket created in this transaction, whether its first
    message brought photos; the database need not be asked, and no one else can claim.
    """
    if not photos_wanted(ticket=ticket):
        return False
    if new_ticket_photos is not None:
        if new_ticket_photos:
            return False
        PhotoRequest.objects.create(ticket=ticket)
        return True
    if ticket.messages.filter(
        direction=Direction.INBOUND, attachments__content_type__startswith="image/"
    ).exists():
        return False
    _request, created = PhotoRequest.objects.get_or_create(ticket=ticket)
    return created


def photo_request_text(*, ticket: Ticket) -> str:
    """What to ask for: the category's own words, else the code of conduct's."""
    policy = get_policy()
    return policy.category(ticket.category).photo_request or policy.conduct.photo_request


def photo_request_once(*, ticket: Ticket, new_ticket_photos: bool | None = None) -> bool:
    """Ask for photos once, unless the order-number request already carried the ask.
    Caller holds the ticket's lock (or just created it: see ``photo_request_claim``)."""
    from tickets.services import ticket_system_reply

    if not photo_request_claim(ticket=ticket, new_ticket_photos=new_ticket_photos):
        return False
    ticket_system_reply(ticket=ticket, body=photo_request_text(ticket=ticket))
    return True


def blocks_active() -> QuerySet[ConductBlock]:
    return ConductBlock.objects.filter(lifted_at__isnull=True, ends_at__gt=timezone.now()).order_by(
        "ends_at"
    )


def block_email_notice(*, customer: User, message: str) -> bool:
    """Tell a blocked email sender, once per block, that new requests are paused (sent
    on commit). Returns whether a notice was queued."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    from mail.autoreply import auto_reply_refused

    block = block_active(customer=customer, channel=Channel.EMAIL)
    if block is None or auto_reply_refused(customer.email):
        return False
    claimed = ConductBlock.objects.filter(pk=block.pk, email_notice_at__isnull=True).update(
        email_notice_at=timezone.now()
    )
    if not claimed:
        return False
    policy = get_policy()
    email = EmailMessage(
        subject=f"Your message to {policy.organisation.name} Support",
        body=f"Hello {customer},\n\n{message}\n\n{policy.conduct.principle}\n\n"
        f"{policy.organisation.name} Support",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )

    def send() -> None:
        try:
            email.send()
        except Exception:  # a lost notice must not undo the recorded mail
            logger.exception("Conduct notice to %s not sent", customer.pk)

    transaction.on_commit(send)
    return True
