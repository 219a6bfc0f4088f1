"""Conduct: screening every inbound customer message, flags, blocks and the one
request for photos: decisions and conduct's own rows, never a reply or a channel action.

``text_screened`` is called by every channel before the write path opens its transaction
(screening is pure computation on the customer's text: it never runs under the ticket's
lock, nor under SQLite's write lock). Once the message is stored, the write path records
the verdict (``flag_record``), sends the reminder a first flag owes the customer, then
``flag_followed_up`` (a block when the policy says, the notice to the ticket's owner).
Whoever acts on a conversation does so itself: the reminder and the photo request are sent
by ``tickets`` (``tickets.write_path``, ``tickets.workflows.photo_request_once``), the
live chat hint and ending a conversation for conduct by ``chat.services``, the notice to a
blocked email sender by ``mail.conduct_notice``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from conduct import screening
from conduct.exceptions import ConductActionError, ConductBlocked
from conduct.models import ConductBlock, ConductFlag, PhotoRequest
from conduct.selectors import in_force_by_channel
from core.rows_select import One, Select
from policy.loader import get_policy
from tickets import events
from tickets.choices import Channel, Direction
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
    return in_force_by_channel(_BLOCKS_ACTIVE(customers=customer_ids, now=timezone.now()))


# Compiled once (core.rows_select): every batch of new tickets, on every channel, reads it.
_BLOCKS_ACTIVE = Select(
    lambda customers, now: ConductBlock.objects.filter(
        customer_id__any=customers,
        lifted_at__isnull=True,
        ends_at__gt=One(now, models.DateTimeField()),
    ).order_by("-ends_at")
)


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
    """The verdict on a customer's text before it is stored: what ``flag_record``
    records. No database, no lock; empty for anyone but a customer."""
    if author is None or not author.is_customer:
        return []
    return screening.screen_text(text, screening=get_policy().conduct.screening)


def flag_record(*, message: Message, findings: list[screening.Finding]) -> ConductFlag | None:
    """Record the verdict (``text_screened``) on a stored inbound customer message: the
    flag and its event. Returns the flag, or None when there is nothing to flag; the
    caller owes the customer the policy's reminder (``reminder_text``) when
    ``flag.reminded`` (the ticket's first flag), then calls ``flag_followed_up``. Caller
    holds the ticket's lock (inside the write path)."""
    author = message.author
    if message.direction != Direction.INBOUND or author is None or not author.is_customer:
        return None
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
    return flag


def reminder_text() -> str:
    """The code-of-conduct reminder a ticket's first flagged message gets."""
    return get_policy().conduct.reminder


def flag_followed_up(*, flag: ConductFlag) -> ConductBlock | None:
    """After a flag (and its reminder): block the customer on that channel when the
    policy's repeat rule says, and tell the ticket's owner. Returns the new block."""
    from notifications.services import notify_ticket_owner

    ticket = flag.ticket
    block = _block_if_repeated(flag=flag)
    text = f"{flag.get_severity_display()} conduct flag on {ticket.reference}: " + ", ".join(
        flag.labels
    )
    if block is not None:
        text += f"; new {Channel(block.channel).label} sessions blocked until " + team_time_text(
            block.ends_at
        )
    notify_ticket_owner(ticket=ticket, kind="conduct", text=text)
    return block


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


def blocks_active() -> QuerySet[ConductBlock]:
    return ConductBlock.objects.filter(lifted_at__isnull=True, ends_at__gt=timezone.now()).order_by(
        "ends_at"
    )
