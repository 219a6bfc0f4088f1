"""Proving an address: a six-digit code or a link emailed to it, and what proving it
does to the ticket (docs/security/identity.md).

A requester who is not signed in is filed under an unverified contact
(``accounts.services.contact_for_typed_email``). When they prove the address, the ticket
(only the one they proved it on) moves to the account with that address, which from
then on may have its orders looked up.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from accounts.services import StaffAddress, customer_for_email
from core.errors import UserError
from identity.models import EmailChallenge, Method
from marketplace.adapters import MarketplaceUnavailable, get_marketplace
from policy.loader import get_policy
from tickets import events, realtime
from tickets.choices import DeliveryStatus, PartyRole, RequesterIdentity
from tickets.email_rows import email_row_send
from tickets.models import Message, Party, Ticket

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
_CODE_SHAPE = re.compile(r"\d{6}")


class VerificationError(UserError):
    code = "verification_failed"


class AlreadyVerified(VerificationError):
    code = "already_verified"


class TooManyChallenges(VerificationError):
    code = "verify_rate_limited"


class CodeNotRequested(VerificationError):
    code = "code_not_requested"


class CodeMalformed(VerificationError):
    code = "code_malformed"


class CodeWrong(VerificationError):
    code = "code_wrong"

    def __init__(self, message: str, *, attempts_left: int):
        super().__init__(message, field="code")
        self.attempts_left = attempts_left


class CodeExpired(VerificationError):
    code = "code_expired"


class CodeAttemptsExhausted(VerificationError):
    code = "code_attempts_exhausted"


class LinkInvalid(VerificationError):
    code = "link_invalid"


# --- The secrets: derived, never stored


def challenge_code(challenge: EmailChallenge) -> str:
    digest = salted_hmac("izonie.identity.code", challenge.salt, algorithm="sha256").digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def challenge_link_token(challenge: EmailChallenge) -> str:
    return salted_hmac("izonie.identity.link", challenge.salt, algorithm="sha256").hexdigest()


def challenge_url(challenge: EmailChallenge) -> str:
    path = reverse("identity:verify_link", args=[challenge.pk, challenge_link_token(challenge)])
    return f"{str(settings.IZONIE_PUBLIC_URL).rstrip('/')}{path}"


def masked_email(email: str) -> str:
    """``j***@example.com``: enough for the visitor to see where the code went."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


# --- Sending


def _ttl(method: str) -> dt.timedelta:
    seconds = (
        settings.IZONIE_IDENTITY_CODE_TTL_SECONDS
        if method == Method.CODE
        else settings.IZONIE_IDENTITY_LINK_TTL_SECONDS
    )
    return dt.timedelta(seconds=seconds)


@transaction.atomic
def challenge_send(*, ticket: Ticket, method: Method | str) -> EmailChallenge:
    """Email a code or a link to the ticket's unverified requester (sent after the
    commit by a task). A new code replaces the ones sent before on this ticket.

    At most IZONIE_IDENTITY_MAX_SENDS_PER_HOUR are sent to one address in an hour,
    whichever tickets ask: the form cannot be used to flood someone's mailbox.
    """
    from identity.tasks import deliver_challenge

    ticket = (
        Ticket.objects.select_for_update(no_key=True).select_related("requester").get(pk=ticket.pk)
    )
    if ticket.requester_verified:
        raise AlreadyVerified("Your email address is already verified.")
    email = ticket.requester.email.lower()
    now = timezone.now()
    recent = EmailChallenge.objects.filter(
        email=email, created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= settings.IZONIE_IDENTITY_MAX_SENDS_PER_HOUR:
        raise TooManyChallenges(
            "We have sent several codes to this address in the last hour. Use the latest "
            "one, or try again later."
        )
    challenge = EmailChallenge.objects.create(
        ticket=ticket, method=method, email=email, expires_at=now + _ttl(str(method))
    )
    transaction.on_commit(partial(deliver_challenge.enqueue, challenge_id=challenge.pk))
    return challenge


def _duration(span: dt.timedelta) -> str:
    """ "10 minutes", "24 hours": how long a code or link works, as the email says it."""
    minutes = max(1, int(span.total_seconds() // 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _email_for(challenge: EmailChallenge) -> EmailMessage:
    organisation = get_policy().organisation.name
    reference = challenge.ticket.reference
    lasts = _duration(_ttl(challenge.method))
    if challenge.method == Method.CODE:
        subject = f"Your {organisation} Support code: {challenge_code(challenge)}"
        body = (
            f"Your code is {challenge_code(challenge)}.\n\n"
            f"Enter it in the chat ({reference}) to confirm this is your address. It expires "
            f"in {lasts}.\n\n"
            "If you did not ask for it, ignore this email: nothing about your account has "
            "been shared."
        )
    else:
        subject = f"Confirm your email address for {reference}"
        body = (
            f"Open this link to confirm that request {reference} comes from you, so that "
            f"we can look at your orders:\n\n{challenge_url(challenge)}\n\n"
            f"The link works for {lasts}.\n\n"
            "If you did not write to us, ignore this email: nothing about your account has "
            "been shared."
        )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[challenge.email],
        # Automatic mail (RFC 3834): the customer's auto-responder does not answer it.
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )


def challenge_deliver(*, challenge_id: int) -> DeliveryStatus | None:
    """Send one challenge once and record what happened; safe to run late or twice (the
    attempt is claimed with a conditional update, as the other outboxes do)."""
    from identity.tasks import deliver_challenge

    challenge = EmailChallenge.objects.select_related("ticket").filter(pk=challenge_id).first()
    if challenge is None or challenge.status != DeliveryStatus.PENDING:
        return None
    if challenge.used_at is not None or challenge.expires_at <= timezone.now():
        challenge.status = DeliveryStatus.FAILED
        challenge.last_error = "Expired or used before it could be sent."
        challenge.save(update_fields=["status", "last_error"])
        return DeliveryStatus.FAILED
    claimed = EmailChallenge.objects.filter(
        pk=challenge.pk, status=DeliveryStatus.PENDING, attempts=challenge.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=None)
    if not claimed:
        return None
    challenge.attempts += 1
    return email_row_send(
        row=challenge,
        email=_email_for(challenge),
        retry=lambda run_after: deliver_challenge.using(run_after=run_after).enqueue(
            challenge_id=challenge.pk
        ),
        what="Identity challenge",
    )


# --- Checking


@dataclass(frozen=True)
class _Outcome:
    error: VerificationError | None
    ticket: Ticket


def code_check(*, ticket: Ticket, code: object) -> Ticket:
    """Verify the requester with the code they were sent. Returns the ticket, now on
    the account; raises a VerificationError saying what to do otherwise.

    A wrong guess is counted in its own transaction (the error is raised after the
    commit, so the count is kept); at IZONIE_IDENTITY_MAX_ATTEMPTS the code is dead.
    """
    guess = re.sub(r"[\s-]", "", code)[:20] if isinstance(code, str) else ""
    if not _CODE_SHAPE.fullmatch(guess):
        raise CodeMalformed(f"The code is the {CODE_DIGITS} digits in the email.", field="code")
    outcome = _code_attempt(ticket=ticket, guess=guess)
    if outcome.error is not None:
        raise outcome.error
    return outcome.ticket


@transaction.atomic
def _code_attempt(*, ticket: Ticket, guess: str) -> _Outcome:
    ticket = (
        Ticket.objects.select_for_update(no_key=True).select_related("requester").get(pk=ticket.pk)
    )
    if ticket.requester_verified:
        return _Outcome(AlreadyVerified("Your email address is already verified."), ticket)
    challenge = (
        EmailChallenge.objects.select_for_update(no_key=True)
        .filter(ticket=ticket, method=Method.CODE)
        .order_by("-created_at", "-pk")
        .first()
    )
    if challenge is None or challenge.used_at is not None:
        return _Outcome(CodeNotRequested("Ask for a code first.", field="code"), ticket)
    limit = settings.IZONIE_IDENTITY_MAX_ATTEMPTS
    if challenge.failed_attempts >= limit:
        return _Outcome(
            CodeAttemptsExhausted("Too many wrong codes. Ask for a new code.", field="code"),
            ticket,
        )
    if challenge.expires_at <= timezone.now():
        return _Outcome(
            CodeExpired("This code has expired. Ask for a new code.", field="code"), ticket
        )
    if not constant_time_compare(guess, challenge_code(challenge)):
        challenge.failed_attempts += 1
        challenge.save(update_fields=["failed_attempts"])
        left = limit - challenge.failed_attempts
        if left <= 0:
            error: VerificationError = CodeAttemptsExhausted(
                "That code is wrong, and that was the last try. Ask for a new code.",
                field="code",
            )
        else:
            error = CodeWrong(
                f"That code is wrong. {left} {'try' if left == 1 else 'tries'} left.",
                attempts_left=left,
            )
        return _Outcome(error, ticket)
    return _Outcome(None, _verify(ticket=ticket, challenge=challenge))


def link_challenge(*, challenge_id: int, token: str) -> EmailChallenge:
    """The unexpired, unused link challenge the URL names; LinkInvalid otherwise."""
    challenge = (
        EmailChallenge.objects.select_related("ticket")
        .filter(pk=challenge_id, method=Method.LINK)
        .first()
    )
    if challenge is None or not constant_time_compare(token, challenge_link_token(challenge)):
        raise LinkInvalid("This link is not valid. Use the latest link we emailed you.")
    if challenge.used_at is not None or challenge.ticket.requester_verified:
        raise AlreadyVerified("This address is already confirmed for this request.")
    if challenge.expires_at <= timezone.now():
        raise LinkInvalid(
            "This link has expired. Write to us again, or sign in, to see your requests."
        )
    return challenge


@transaction.atomic
def link_check(*, challenge_id: int, token: str) -> Ticket:
    """Verify the requester of the link's ticket."""
    challenge = link_challenge(challenge_id=challenge_id, token=token)
    ticket = (
        Ticket.objects.select_for_update(no_key=True)
        .select_related("requester")
        .get(pk=challenge.ticket_id)
    )
    challenge = EmailChallenge.objects.select_for_update(no_key=True).get(pk=challenge.pk)
    if challenge.used_at is not None or ticket.requester_verified:
        raise AlreadyVerified("This address is already confirmed for this request.")
    return _verify(ticket=ticket, challenge=challenge)


def _verify(*, ticket: Ticket, challenge: EmailChallenge) -> Ticket:
    """Move the locked ticket from the unverified contact to the account with the
    proven address (made if there is none), check the order number the requester gave
    against that account, and record the event."""
    now = timezone.now()
    contact = ticket.requester
    account: User | None
    try:
        account = customer_for_email(email=challenge.email, name=contact.display_name)
    except StaffAddress:
        # A support-team address: proven, but a customer's request is never filed under
        # a staff account. The ticket stays on the (now verified) contact.
        account = None
    challenge.used_at = now
    challenge.save(update_fields=["used_at"])
    method = (
        RequesterIdentity.EMAIL_CODE
        if challenge.method == Method.CODE
        else RequesterIdentity.EMAIL_LINK
    )
    ticket.requester_identity = method
    ticket.requester_verified_at = now
    fields = ["requester_identity", "requester_verified_at"]
    if account is not None and account.pk != contact.pk:
        from chat.models import ChatSession

        ticket.requester = account
        fields.append("requester")
        requester_party = Party.objects.filter(
            ticket=ticket, role=PartyRole.REQUESTER, user=contact
        )
        if Party.objects.filter(ticket=ticket, user=account).exists():
            requester_party.delete()
        else:
            requester_party.update(user=account, name=str(account), email=account.email)
        Message.objects.filter(ticket=ticket, author=contact).update(author=account)
        ChatSession.objects.filter(ticket=ticket).update(customer=account)
    linked, checked = _order_link(ticket=ticket, account=account)
    if checked:
        # Linked if it is the account's; otherwise dropped, as an unknown order is.
        ticket.order_number = linked or ticket.order_number
        ticket.unverified_order_number = ""
        fields += ["order_number", "unverified_order_number"]
    ticket.save(update_fields=fields)
    events.requester_verified(
        ticket=ticket,
        method=method,
        contact_id=contact.pk,
        account_id=account.pk if account is not None else None,
        order_number=linked,
    )
    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket.pk))
    return ticket


def _order_link(*, ticket: Ticket, account: User | None) -> tuple[str, bool]:
    """(number, checked): the order number the requester gave while unverified if it is
    the account's, and whether the marketplace was asked at all."""
    number = ticket.unverified_order_number
    if not number or account is None:
        return "", account is not None
    try:
        order = get_marketplace().order_for_customer(number=number, customer_id=account.pk)
    except MarketplaceUnavailable as exc:
        # Left aside; a later message with the number links it (triage).
        logger.warning("Order %s on ticket %s not checked: %s", number, ticket.pk, exc)
        return "", False
    return (number if order is not None else ""), True
