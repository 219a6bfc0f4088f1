"""Writes to disputes: open one on a buyer's ticket, talk with the seller, record the
outcome. Ticket changes go through ``tickets.services`` so events and clocks apply."""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from email.utils import make_msgid
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from disputes.exceptions import (
    DisputeAlreadyOpen,
    DisputeClosed,
    DisputeNotPossible,
    InvalidOutcome,
)
from disputes.models import (
    Dispute,
    DisputeMessage,
    DisputeStatus,
    NoticeKind,
    Outcome,
    SellerNotice,
    Side,
)
from disputes.privacy import buyer_label, redact_contacts
from marketplace.adapters import MarketplaceUnavailable, SellerInfo, get_marketplace
from policy.loader import get_policy
from sla import services as sla
from sla.models import ClockStatus, SlaClock
from tickets import events
from tickets import services as tickets
from tickets.choices import (
    DeliveryStatus,
    Direction,
    MessageKind,
    PartyRole,
    TicketKind,
    TicketStatus,
)
from tickets.email_rows import email_row_send
from tickets.exceptions import EmptyMessage
from tickets.models import Party, Ticket

logger = logging.getLogger(__name__)

DISPUTE_TARGET_ID = "dispute_resolution"
MAX_TEXT_CHARS = 10_000


def _text(value: str, *, field: str, what: str) -> str:
    value = value.replace("\x00", "").strip()
    if not value:
        raise EmptyMessage(f"{what} is empty.", field=field)
    if len(value) > MAX_TEXT_CHARS:
        raise EmptyMessage(
            f"{what} is {len(value):,} characters long; the limit is {MAX_TEXT_CHARS:,}.",
            field=field,
        )
    return value


def _portal_url(path: str) -> str:
    return settings.IZONIE_PUBLIC_URL.rstrip("/") + path


def _seller_account(seller: SellerInfo) -> User:
    """The seller's portal login: the seller account with the marketplace's address, or a
    new one without a password (the seller signs in once it is set)."""
    addresses = [a for a in (seller.account_email, seller.email) if a]
    for address in addresses:
        user = (
            User.objects.filter(role=Role.SELLER, email__iexact=address, is_active=True)
            .order_by("pk")
            .first()
        )
        if user is not None:
            return user
    base = re.sub(r"[^a-z0-9]+", "", seller.store_name.lower())[:40] or "seller"
    username, n = f"{base}.seller", 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}.seller{n}"
    user = User(
        username=username,
        email=addresses[0],
        display_name=seller.store_name,
        role=Role.SELLER,
    )
    user.set_unusable_password()
    user.save()
    return user


def _default_claim(ticket: Ticket) -> str:
    first = (
        ticket.messages.filter(kind=MessageKind.REPLY, direction=Direction.INBOUND)
        .order_by("created_at", "id")
        .first()
    )
    return first.body_text if first else ticket.subject


def _notice(*, dispute: Dispute, kind: NoticeKind, subject: str, body: str) -> SellerNotice:
    from disputes.tasks import deliver_seller_notice

    notice = SellerNotice.objects.create(
        dispute=dispute,
        kind=kind,
        to=dispute.seller_email,
        subject=f"{subject} [{dispute.reference}]",
        body=body,
    )
    transaction.on_commit(partial(deliver_seller_notice.enqueue, notice_id=notice.pk))
    return notice


def _seller_page(dispute: Dispute) -> str:
    return _portal_url(reverse("portal:seller_dispute", args=[dispute.pk]))


def _mirror_note(*, dispute: Dispute, author: User, heading: str, body: str) -> DisputeMessage:
    side = Side.FROM_SELLER if author.role == Role.SELLER else Side.TO_SELLER
    note = tickets.ticket_add_note(
        ticket=dispute.ticket, author=author, body=f"{heading}\n\n{body}"
    )
    return DisputeMessage.objects.create(
        dispute=dispute,
        side=side,
        author=author,
        author_label=dispute.store_name
        if side == Side.FROM_SELLER
        else f"{get_policy().organisation.name} Support",
        body=body,
        note=note,
    )


# --- Opening


def dispute_claim_preview(*, ticket: Ticket, claim: str = "") -> str:
    """The claim as the seller would read it: ``claim`` (or the buyer's first message)
    with contacts and addresses hidden. Shown to the agent, who may edit it before
    ``dispute_open``, which redacts what they send again."""
    return redact_contacts(_text(claim or _default_claim(ticket), field="claim", what="The claim"))


@transaction.atomic
def dispute_open(*, ticket: Ticket, actor: User, claim: str = "") -> Dispute:
    """Turn the buyer's ticket about a third-party seller's order into a dispute.

    The seller (resolved from the order through the marketplace adapter) is added as a
    party, sent the claim by email with a link to the seller portal, and the dispute
    resolution clock starts.
    """
    ticket = (
        Ticket.objects.select_for_update(no_key=True).select_related("requester").get(pk=ticket.pk)
    )
    if ticket.is_closed:
        raise DisputeNotPossible(f"{ticket.reference} is closed; reopen it first.")
    if Dispute.objects.filter(ticket=ticket).exists():
        raise DisputeAlreadyOpen(f"{ticket.reference} is already a dispute.")
    if not ticket.order_number:
        raise DisputeNotPossible(
            "Link the order first: a dispute is about one order from a third-party seller.",
            field="order_number",
        )
    marketplace = get_marketplace()
    try:
        order = marketplace.order_get(number=ticket.order_number)
        seller = marketplace.seller_get(seller_id=order.seller_id) if order else None
    except MarketplaceUnavailable as exc:
        raise DisputeNotPossible(
            "The marketplace cannot be asked about the order right now; try again shortly."
        ) from exc
    if order is None:
        raise DisputeNotPossible(f"The marketplace has no order {ticket.order_number}.")
    if not order.seller_is_third_party:
        raise DisputeNotPossible(
            f"Order {order.number} was sold by {order.seller_name}, not a third-party seller: "
            "there is no seller to dispute with."
        )
    if seller is None:
        raise DisputeNotPossible(
            f"The marketplace does not know the seller of order {order.number}."
        )
    claim = redact_contacts(_text(claim or _default_claim(ticket), field="claim", what="The claim"))
    currency = order.total.split(" ", 1)[0] if " " in order.total else "NGN"
    dispute = Dispute.objects.create(
        ticket=ticket,
        order_number=order.number,
        seller_id=seller.id,
        store_name=seller.store_name,
        seller_email=seller.email,
        seller_user=_seller_account(seller),
        buyer_label=buyer_label(ticket.requester),
        claim=claim,
        opened_by=actor,
        currency=currency[:3],
    )
    # A party by name and address only: a user link would let the seller's account
    # read the buyer's whole request (``tickets_visible_to``).
    Party.objects.create(
        ticket=ticket, user=None, role=PartyRole.SELLER, name=seller.store_name, email=seller.email
    )
    ticket.kind = TicketKind.DISPUTE
    ticket.save(update_fields=["kind"])
    sla.on_dispute_started(ticket=ticket, at=timezone.now())
    # A note for the team only; the claim itself heads the seller's page.
    tickets.ticket_add_note(
        ticket=ticket,
        author=actor,
        body=f"Dispute {dispute.reference} opened with {seller.store_name}. "
        f"Sent to the seller:\n\n{claim}",
    )
    _notice(
        dispute=dispute,
        kind=NoticeKind.OPENED,
        subject=f"Dispute about order {order.number}",
        body=(
            f"Hello {seller.store_name},\n\n"
            f"A buyer ({dispute.buyer_label}) has raised a dispute about order {order.number} "
            f"({', '.join(order.items) or 'no items listed'}). What the buyer says:\n\n"
            f"{_quoted(claim)}\n\n"
            f"Please answer in the seller portal, where the dispute's messages are kept "
            f"(an email reply would open a separate Seller Support request):\n"
            f"{_seller_page(dispute)}\n\n"
            f"{_first_sign_in(dispute)}"
            f"{_promise()}\n\n{get_policy().organisation.name} Support"
        ),
    )
    return dispute


def _first_sign_in(dispute: Dispute) -> str:
    """For a seller account made for this dispute: how to choose its password."""
    if dispute.seller_user is None or dispute.seller_user.has_usable_password():
        return ""
    return (
        "First time in the seller portal? Choose your password with this email address at "
        f"{_portal_url(reverse('password_reset'))} "
        f"(your username is {dispute.seller_user.get_username()}).\n\n"
    )


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines())


def _promise() -> str:
    try:
        return get_policy().target(DISPUTE_TARGET_ID).promise
    except KeyError:
        return ""


# --- The conversation with the seller


def _lock(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(no_key=True).select_related("ticket").get(pk=dispute.pk)
    )


@transaction.atomic
def dispute_message_seller(*, dispute: Dispute, actor: User, body: str) -> DisputeMessage:
    """An agent writes to the seller: stored, mirrored as a note, emailed with the link."""
    body = _text(body, field="body", what="The message to the seller")
    dispute = _lock(dispute)
    if not dispute.is_open:
        raise DisputeClosed(f"{dispute.reference} is resolved.")
    message = _mirror_note(
        dispute=dispute, author=actor, heading=f"To the seller ({dispute.store_name}):", body=body
    )
    _notice(
        dispute=dispute,
        kind=NoticeKind.MESSAGE,
        subject=f"New message about order {dispute.order_number}",
        body=(
            f"Hello {dispute.store_name},\n\n{body}\n\n"
            f"Reply in the seller portal: {_seller_page(dispute)}\n\n"
            f"{get_policy().organisation.name} Support"
        ),
    )
    return message


@transaction.atomic
def dispute_seller_reply(*, dispute: Dispute, seller: User, body: str) -> DisputeMessage:
    """The seller answers from the seller portal; agents see it as a note on the ticket."""
    body = _text(body, field="body", what="Your reply")
    dispute = _lock(dispute)
    if dispute.seller_user_id != seller.pk:
        raise Dispute.DoesNotExist
    if not dispute.is_open:
        raise DisputeClosed(
            f"Dispute {dispute.reference} is resolved; write to Seller Support for anything new."
        )
    return _mirror_note(
        dispute=dispute,
        author=seller,
        heading=f"From the seller ({dispute.store_name}), in the seller portal:",
        body=body,
    )


# --- The outcome


def _amount(raw: str | Decimal | None) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        amount = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        raise InvalidOutcome(f"{str(raw)[:20]!r} is not an amount.", field="amount") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidOutcome("The refund amount must be more than zero.", field="amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidOutcome("The amount has at most two decimals.", field="amount")
    return amount


def _order_total(number: str) -> Decimal | None:
    try:
        order = get_marketplace().order_get(number=number)
    except MarketplaceUnavailable:
        return None
    if order is None:
        return None
    try:
        return Decimal(order.total.split(" ")[-1].replace(",", ""))
    except InvalidOperation:
        return None


def outcome_text(dispute: Dispute) -> str:
    outcome = Outcome(dispute.outcome)
    if outcome == Outcome.PARTIAL_REFUND:
        return f"Partial refund of {dispute.currency} {dispute.refund_amount:,.2f}"
    return str(outcome.label)


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    actor: User,
    outcome: Outcome | str,
    reason: str,
    amount: str | Decimal | None = None,
) -> Dispute:
    """Record the decision with its reason, tell the buyer on the ticket's channel and the
    seller by email and in the portal, stop the dispute clock and resolve the ticket."""
    if outcome not in Outcome.values:
        raise InvalidOutcome(
            f"Choose one of: {', '.join(str(o.label) for o in Outcome)}.", field="outcome"
        )
    outcome = Outcome(outcome)
    reason = _text(reason, field="reason", what="The reason")
    refund = _amount(amount)
    if outcome == Outcome.PARTIAL_REFUND:
        if refund is None:
            raise InvalidOutcome("A partial refund needs its amount.", field="amount")
        total = _order_total(dispute.order_number)
        if total is not None and refund >= total:
            raise InvalidOutcome(
                f"A partial refund is less than the order total ({dispute.currency} "
                f"{total:,.2f}); choose a full refund instead.",
                field="amount",
            )
    elif refund is not None:
        raise InvalidOutcome("Only a partial refund has an amount.", field="amount")
    dispute = _lock(dispute)
    if not dispute.is_open:
        raise DisputeClosed(
            f"{dispute.reference} was already resolved ({dispute.get_outcome_display()})."
        )
    if dispute.ticket.is_closed:
        raise DisputeClosed(f"{dispute.ticket.reference} is closed; reopen it first.")
    now = timezone.now()
    dispute.status = DisputeStatus.RESOLVED
    dispute.outcome = outcome
    dispute.refund_amount = refund
    dispute.outcome_reason = reason
    dispute.resolved_by = actor
    dispute.resolved_at = now
    dispute.save()
    ticket = dispute.ticket
    for clock in SlaClock.objects.filter(
        ticket=ticket,
        target_id=DISPUTE_TARGET_ID,
        status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED],
    ):
        clock.ticket = ticket
        sla.clock_stop(clock=clock, at=now)
    events.dispute_resolved(
        ticket=ticket,
        actor=actor,
        dispute_id=dispute.pk,
        outcome=str(outcome),
        amount=str(refund) if refund is not None else None,
        reason=reason,
    )
    decision = outcome_text(dispute)
    _mirror_note(
        dispute=dispute,
        author=actor,
        heading=f"Outcome sent to the seller ({dispute.store_name}):",
        body=f"{decision}. {reason}",
    )
    _notice(
        dispute=dispute,
        kind=NoticeKind.OUTCOME,
        subject=f"Outcome of the dispute about order {dispute.order_number}",
        body=(
            f"Hello {dispute.store_name},\n\nThe dispute about order {dispute.order_number} is "
            f"decided: {decision}.\n\nReason: {reason}\n\n"
            f"Details in the seller portal: {_seller_page(dispute)}\n\n"
            f"{get_policy().organisation.name} Support"
        ),
    )
    tickets.ticket_reply(
        ticket=ticket,
        author=actor,
        body=(
            f"Our decision on your dispute with {dispute.store_name} about order "
            f"{dispute.order_number}: {decision}.\n\nReason: {reason}"
        ),
        status=TicketStatus.RESOLVED,
    )
    return dispute


# --- The outbox to sellers


def seller_notice_attempt(*, notice_id: int) -> DeliveryStatus | None:
    """Send one seller email once and record what happened; safe to run late or twice
    (the attempt is claimed with a conditional update, as the ticket outbox does)."""
    from disputes.tasks import deliver_seller_notice

    notice = SellerNotice.objects.select_related("dispute").filter(pk=notice_id).first()
    if notice is None or notice.status != DeliveryStatus.PENDING:
        return None
    claimed = SellerNotice.objects.filter(
        pk=notice.pk, status=DeliveryStatus.PENDING, attempts=notice.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=None)
    if not claimed:
        return None
    notice.attempts += 1
    if not notice.message_id:
        domain = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "izonie.com"
        notice.message_id = make_msgid(domain=domain).strip("<>")
        notice.save(update_fields=["message_id"])
    email = EmailMessage(
        subject=notice.subject,
        body=notice.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notice.to],
        headers={"Message-ID": f"<{notice.message_id}>", "Auto-Submitted": "auto-generated"},
    )
    return email_row_send(
        row=notice,
        email=email,
        retry=lambda run_after: deliver_seller_notice.using(run_after=run_after).enqueue(
            notice_id=notice.pk
        ),
        what="Seller notice",
    )


@transaction.atomic
def seller_notice_retry(*, notice: SellerNotice) -> None:
    from disputes.tasks import deliver_seller_notice

    if SellerNotice.objects.filter(pk=notice.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None
    ):
        transaction.on_commit(partial(deliver_seller_notice.enqueue, notice_id=notice.pk))
