"""Inbound email, from any source (command, IMAP, provider webhook), into tickets.

The raw message is stored first, in its own transaction, so nothing that reached us
can be lost; processing then either adds it to a ticket, recognises a duplicate or
machine mail, or quarantines it with the reason, without blocking the mail behind it.
"""

from __future__ import annotations

import hashlib
import logging
import re

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.services import customer_for_email
from mail.models import InboundEmail, InboundStatus
from mail.parsing import ParsedEmail, UnparseableEmail, parse_email
from policy.loader import get_policy
from tickets import services as ticket_services
from tickets.attachments import CheckedUpload, check_uploads
from tickets.choices import Channel, Direction
from tickets.exceptions import AttachmentRejected, TicketClosed
from tickets.models import Attachment, Message, Ticket

logger = logging.getLogger(__name__)

SUBJECT_TOKEN_RE = re.compile(r"\[IZS-(\d+)\]", re.IGNORECASE)
REPLY_PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|aw|tr)\s*:\s*)+", re.IGNORECASE)


def support_address() -> str:
    return str(settings.DEFAULT_FROM_EMAIL).lower()


def _plus_ticket_id(recipients: list[str]) -> int | None:
    local, _, domain = support_address().partition("@")
    pattern = re.compile(rf"^{re.escape(local)}\+(\d+)@{re.escape(domain)}$")
    for address in recipients:
        match = pattern.match(address)
        if match:
            return int(match.group(1))
    return None


def _thread(parsed: ParsedEmail, sender: User) -> Ticket | None:
    """The ticket this mail answers: by In-Reply-To / References, then by the subject
    token or plus-address (only for the ticket's own requester)."""
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    if ids:
        known = (
            Message.objects.filter(channel=Channel.EMAIL, external_id__in=ids)
            .select_related("ticket")
            .first()
        )
        if known is not None:
            return known.ticket
    candidates = []
    token = SUBJECT_TOKEN_RE.search(parsed.subject)
    if token:
        candidates.append(int(token.group(1)))
    plus = _plus_ticket_id([*parsed.to, *(addr for _n, addr in parsed.cc)])
    if plus is not None:
        candidates.append(plus)
    for ticket_id in candidates:
        ticket = Ticket.objects.filter(pk=ticket_id, requester=sender).first()
        if ticket is not None:
            return ticket
    return None


def _uploads(parsed: ParsedEmail) -> tuple[list[CheckedUpload], list[tuple[str, str, int, str]]]:
    """Attachments we keep, and (name, type, size, reason) for those we do not."""
    kept: list[CheckedUpload] = []
    refused: list[tuple[str, str, int, str]] = []
    # Checked one by one so each refusal is recorded; the per-message count is the policy's.
    max_kept = get_policy().attachments.max_per_message
    for item in parsed.attachments:
        upload = SimpleUploadedFile(item.filename, item.payload, content_type=item.content_type)
        try:
            if len(kept) >= max_kept:
                raise AttachmentRejected("more attachments than one message may carry")
            kept += check_uploads([upload])
        except AttachmentRejected as exc:
            refused.append((item.filename, item.content_type, len(item.payload), exc.message))
    if parsed.skipped_parts:
        refused.append(
            (
                "(further parts)",
                "multipart/mixed",
                0,
                f"{parsed.skipped_parts} parts beyond the first 200 were not read",
            )
        )
    return kept, refused


def _record_refused(message: Message, refused: list[tuple[str, str, int, str]]) -> None:
    Attachment.objects.bulk_create(
        Attachment(
            message=message,
            filename=name[:255],
            content_type=ctype[:100],
            size=size,
            kept=False,
            not_kept_reason=reason[:200],
        )
        for name, ctype, size, reason in refused
    )


def _finish(record: InboundEmail, status: str, reason: str = "", **links: object) -> None:
    record.status = status
    record.reason = reason[:2000]
    for name, value in links.items():
        setattr(record, name, value)
    record.save()


def _process(record: InboundEmail, parsed: ParsedEmail) -> None:
    external_id = parsed.message_id or "sha256:" + hashlib.sha256(bytes(record.raw)).hexdigest()
    existing = Message.objects.filter(channel=Channel.EMAIL, external_id=external_id).first()
    if existing is not None:
        _finish(
            record,
            InboundStatus.DUPLICATE,
            f"already stored as message {existing.pk}",
            ticket=existing.ticket,
            message=existing,
        )
        return
    if parsed.sender_email == support_address():
        _finish(record, InboundStatus.IGNORED, "our own outgoing mail")
        return
    if parsed.automatic:
        _finish(record, InboundStatus.IGNORED, f"machine-sent ({parsed.automatic})")
        return
    staff = User.objects.filter(email__iexact=parsed.sender_email, is_active=True).first()
    if staff is not None and staff.is_agent:
        _finish(
            record,
            InboundStatus.QUARANTINED,
            "sent from a support-team address; agents answer in the console, and a "
            "forged From must not speak for them",
        )
        return
    sender = customer_for_email(
        email=parsed.sender_email, name=parsed.sender_name or parsed.sender_email
    )
    kept, refused = _uploads(parsed)
    body = parsed.text or ("(no text)" if not kept else "")
    ticket = _thread(parsed, sender)
    message: Message
    if ticket is not None:
        try:
            message = ticket_services.ticket_customer_message(
                ticket=ticket,
                author=sender,
                body=body,
                uploads=kept,
                channel=Channel.EMAIL,
                body_html=parsed.html,
                external_id=external_id,
            )
        except TicketClosed:
            ticket = None
    if ticket is None:
        subject = REPLY_PREFIX_RE.sub("", SUBJECT_TOKEN_RE.sub("", parsed.subject)).strip()
        ticket = ticket_services.ticket_open(
            requester=sender,
            channel=Channel.EMAIL,
            body=body,
            subject=subject,
            uploads=kept,
            body_html=parsed.html,
            external_id=external_id,
            author_name=parsed.sender_name,
        )
        # The customer's own message; the system may already have replied (asking for
        # an order number, say).
        message = ticket.messages.get(direction=Direction.INBOUND)
    _record_refused(message, refused)
    _finish(record, InboundStatus.PROCESSED, ticket=ticket, message=message)


def ingest_raw(*, raw: bytes, source: str = "command") -> InboundEmail:
    record = InboundEmail.objects.create(raw=raw, source=source)
    try:
        parsed = parse_email(raw)
    except UnparseableEmail as exc:
        _finish(record, InboundStatus.QUARANTINED, str(exc))
        return record
    record.header_id = parsed.message_id[:998]
    record.sender = parsed.sender_email
    record.subject = parsed.subject[:300]
    try:
        with transaction.atomic():
            _process(record, parsed)
    except IntegrityError:
        # The same Message-ID stored concurrently by another fetcher: a duplicate.
        _finish(record, InboundStatus.DUPLICATE, "stored concurrently by another intake")
    except Exception as exc:
        logger.exception("Inbound email %s quarantined", record.pk)
        _finish(record, InboundStatus.QUARANTINED, f"{type(exc).__name__}: {exc}")
    return record


def inbound_retry(*, record: InboundEmail) -> InboundEmail:
    """An admin retries a quarantined email (after fixing what was wrong)."""
    if record.status != InboundStatus.QUARANTINED:
        return record
    retried = ingest_raw(raw=bytes(record.raw), source=f"retry of {record.pk}")
    _finish(record, InboundStatus.QUARANTINED, f"{record.reason} (retried as {retried.pk})")
    return retried
