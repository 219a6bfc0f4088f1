"""Inbound email, from any source (command, IMAP, provider webhook), into tickets.

The raw message is stored with what became of it (added to a ticket, a duplicate,
machine mail, a bounce, or quarantined with the reason) in one transaction; see
``ingest_raw`` for why nothing is lost and nothing blocks the mail behind it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from contextlib import nullcontext

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.template.defaultfilters import filesizeformat

from accounts.models import User
from accounts.services import customer_for_email
from conduct.exceptions import ConductBlocked
from conduct.services import block_email_notice
from mail.acknowledgements import acknowledgement_send
from mail.bounces import Bounce, outbound_bounced, outbound_for_bounce
from mail.models import EmailReference, InboundEmail, InboundStatus
from mail.parsing import ParsedEmail, parse_email
from policy.loader import get_policy
from tickets import services as ticket_services
from tickets.attachments import CheckedUpload, check_uploads
from tickets.choices import Channel, Direction, PartyRole
from tickets.exceptions import AttachmentRejected, TicketClosed
from tickets.models import Attachment, Message, Party, Ticket
from tickets.services import MAX_BODY_CHARS

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


def stored_id(message_id: str) -> str:
    """A Message-ID as stored (255 characters at most): an over-long one is replaced by
    its hash, the same way wherever it appears, so threading still finds it."""
    if len(message_id) <= 255:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _parent_ids(parsed: ParsedEmail) -> list[str]:
    """The direct parent first, then the latest ancestors."""
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    return list(dict.fromkeys(stored_id(i) for i in ids))[:100]


def _known_messages(external_id: str, parsed: ParsedEmail) -> dict[str, Message]:
    """This mail itself, if stored already, and the stored mail it answers: one query."""
    ids = [external_id, *_parent_ids(parsed)]
    return {
        message.external_id or "": message
        for message in Message.objects.filter(
            channel=Channel.EMAIL, external_id__in=ids
        ).select_related("ticket")
    }


def _thread(parsed: ParsedEmail, sender: User, known: dict[str, Message]) -> Ticket | None:
    """The ticket this mail answers: by In-Reply-To / References (the direct parent
    first, then the latest ancestor), by a reply to it that arrived first, then by the
    subject token or plus-address (only for the ticket's own requester)."""
    for parent_id in _parent_ids(parsed):
        if parent_id in known:
            return known[parent_id].ticket
    if parsed.message_id:
        # A reply that arrived before this, its original.
        earlier = (
            EmailReference.objects.filter(referenced_id=stored_id(parsed.message_id))
            .select_related("message__ticket")
            .first()
        )
        if earlier is not None:
            return earlier.message.ticket
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
    limits = get_policy().attachments
    for item in parsed.attachments:
        if item.too_large or item.size > limits.max_bytes:
            # Refused before any copy of it is made.
            refused.append(
                (
                    item.filename,
                    item.content_type,
                    item.size,
                    f"{item.filename[:100]} is {filesizeformat(item.size)}; the limit is "
                    f"{filesizeformat(limits.max_bytes)} per file.",
                )
            )
            continue
        upload = SimpleUploadedFile(item.filename, item.payload, content_type=item.content_type)
        try:
            if len(kept) >= limits.max_per_message:
                raise AttachmentRejected("more attachments than one message may carry")
            kept += check_uploads([upload])
        except AttachmentRejected as exc:
            refused.append((item.filename, item.content_type, item.size, exc.message))
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


# Enough for any real conversation; a mass-Cc'd mail does not flood the ticket.
MAX_COPIED_PARTIES = 50


def _is_ours(address: str) -> bool:
    local, _, domain = support_address().partition("@")
    return address == support_address() or bool(
        re.fullmatch(rf"{re.escape(local)}\+[^@]*@{re.escape(domain)}", address)
    )


def _record_copied(ticket: Ticket, parsed: ParsedEmail) -> None:
    """Everyone else the customer wrote to (Cc, or beside us in To) becomes a copied
    party. Recorded by address only: being copied on a mail grants no portal access."""
    wanted: dict[str, str] = {}
    for name, address in [*parsed.cc, *parsed.to_named]:
        if "@" in address and address != parsed.sender_email and not _is_ours(address):
            wanted.setdefault(address[:254], name[:150])
    if not wanted:
        return
    known = {e.lower() for e in Party.objects.filter(ticket=ticket).values_list("email", flat=True)}
    known.add(ticket.requester.email.lower())
    room = MAX_COPIED_PARTIES - Party.objects.filter(ticket=ticket, role=PartyRole.CC).count()
    new = [(a, n) for a, n in wanted.items() if a not in known][: max(room, 0)]
    Party.objects.bulk_create(
        Party(ticket=ticket, role=PartyRole.CC, name=name, email=address) for address, name in new
    )


# The direct parent and the thread's latest ancestors are enough to find a late original.
MAX_REFERENCES_KEPT = 20


def _record_references(message: Message, parsed: ParsedEmail) -> None:
    EmailReference.objects.bulk_create(
        EmailReference(message=message, referenced_id=ref)
        for ref in _parent_ids(parsed)[:MAX_REFERENCES_KEPT]
    )


def _finish(record: InboundEmail, status: str, reason: str = "", **links: object) -> None:
    """What became of the mail; saved by the caller, with the raw bytes, in one write."""
    record.status = status
    record.reason = reason[:2000]
    for name, value in links.items():
        setattr(record, name, value)


def _record_bounce(record: InboundEmail, bounce: Bounce) -> None:
    outbound = outbound_for_bounce(bounce)
    if outbound is None:
        _finish(record, InboundStatus.BOUNCE, f"not about a reply we sent: {bounce.reason}")
        return
    links = {"ticket": outbound.message.ticket, "message": outbound.message}
    if not bounce.failed:
        _finish(record, InboundStatus.BOUNCE, f"delay notice only: {bounce.reason}", **links)
        return
    marked = outbound_bounced(outbound=outbound, bounce=bounce)
    note = "reply marked failed" if marked else "reply was already marked failed"
    _finish(record, InboundStatus.BOUNCE, f"{note}: {bounce.reason}", **links)


def _process(record: InboundEmail, parsed: ParsedEmail, provider_id: str = "") -> None:
    # Without a Message-ID, a provider's own id for the mail (redelivered webhooks carry
    # the same one), else the bytes themselves, recognise a second delivery.
    external_id = (
        stored_id(parsed.message_id)
        or (f"provider:{provider_id}"[:255] if provider_id else "")
        or "sha256:" + hashlib.sha256(bytes(record.raw)).hexdigest()
    )
    known = _known_messages(external_id, parsed)
    existing = known.get(external_id)
    if existing is not None:
        _finish(
            record,
            InboundStatus.DUPLICATE,
            f"already stored as message {existing.pk}",
            ticket=existing.ticket,
            message=existing,
        )
        return
    if _is_ours(parsed.sender_email):
        _finish(record, InboundStatus.IGNORED, "our own outgoing mail")
        return
    if parsed.bounce is not None:
        _record_bounce(record, parsed.bounce)
        return
    if parsed.automatic:
        _finish(record, InboundStatus.IGNORED, f"machine-sent ({parsed.automatic})")
        return
    account = User.objects.filter(email__iexact=parsed.sender_email).order_by("pk").first()
    if account is not None and account.is_active and account.is_agent:
        _finish(
            record,
            InboundStatus.QUARANTINED,
            "sent from a support-team address; agents answer in the console, and a "
            "forged From must not speak for them",
        )
        return
    sender = (
        account
        if account is not None and account.is_customer
        else customer_for_email(
            email=parsed.sender_email, name=parsed.sender_name or parsed.sender_email
        )
    )
    kept, refused = _uploads(parsed)
    body = parsed.text or ("(no text)" if not kept else "")
    if len(body) > MAX_BODY_CHARS:
        # Long quoted histories happen; the whole message stays in the raw mail.
        note = "\n\n[Shortened here; the whole message is kept as received.]"
        body = body[: MAX_BODY_CHARS - len(note)] + note
    ticket = _thread(parsed, sender, known)
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
        try:
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
        except ConductBlocked as exc:
            # Not quarantined (nothing for an admin to fix): kept raw with the reason,
            # and the sender is told once per block when they may write again.
            block_email_notice(customer=sender, message=exc.message)
            _finish(record, InboundStatus.IGNORED, f"sender blocked for conduct: {exc.message}")
            return
        # The customer's own message; the system may already have replied (asking for
        # an order number, say).
        message = ticket.messages.get(direction=Direction.INBOUND)
        acknowledgement_send(ticket=ticket)
    _record_refused(message, refused)
    _record_references(message, parsed)
    _record_copied(ticket, parsed)
    _finish(record, InboundStatus.PROCESSED, ticket=ticket, message=message)


# Above this, PostgreSQL gets the raw bytes as a binary parameter (see _save).
LARGE_RAW_BYTES = 1024 * 1024


def _save(record: InboundEmail) -> None:
    """Save the record. Django's psycopg cursors bind parameters on the client, which
    writes bytes into the SQL text as hex: a 68 MB mail took about 400 MB. A large raw
    mail is written separately as a binary server-side parameter instead."""
    raw = bytes(record.raw)
    if connection.vendor != "postgresql" or len(raw) <= LARGE_RAW_BYTES:
        record.save()
        return
    import psycopg

    record.raw = b""
    record.save()
    connection.ensure_connection()
    table = connection.ops.quote_name(InboundEmail._meta.db_table)
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"UPDATE {table} SET raw = %b WHERE id = %s", [raw, record.pk])  # noqa: S608
    record.raw = raw


def ingest_raw(*, raw: bytes, source: str = "command", provider_id: str = "") -> InboundEmail:
    """Store one raw email and what became of it, in one transaction.

    Every source gives the mail up only after this has committed (the IMAP fetcher
    marks it afterwards, a webhook answers 200 afterwards, a Postfix pipe gets our exit
    status), so a crash before the commit loses nothing: the mail is delivered again.
    Whatever goes wrong in processing rolls back to a savepoint, and the raw mail is
    still stored, quarantined with the reason, without holding up the next one.
    """
    record = InboundEmail(raw=raw, source=source)
    try:
        parsed = parse_email(raw, max_attachment_bytes=get_policy().attachments.max_bytes)
    except Exception as exc:  # UnparseableEmail, or a parser bug: the raw is kept
        _finish(record, InboundStatus.QUARANTINED, str(exc) or type(exc).__name__)
        with transaction.atomic():
            _save(record)
        return record
    record.header_id = parsed.message_id[:998]
    record.sender = parsed.sender_email[:320]
    record.subject = parsed.subject[:300]
    # Inside a batch (ingest_many) the batch is the transaction: a savepoint here would
    # only add two round trips, as processing has its own just below.
    outer = nullcontext() if connection.in_atomic_block else transaction.atomic()
    with outer:
        try:
            with transaction.atomic():
                _process(record, parsed, provider_id)
        except IntegrityError:
            # The same Message-ID stored concurrently by another fetcher: a duplicate.
            _finish(record, InboundStatus.DUPLICATE, "stored concurrently by another intake")
            record.ticket = record.message = None
        except Exception as exc:
            logger.exception("Inbound email from %s quarantined", parsed.sender_email)
            _finish(record, InboundStatus.QUARANTINED, f"{type(exc).__name__}: {exc}")
            record.ticket = record.message = None
        _save(record)
    return record


def ingest_many(raws: Iterable[bytes], *, source: str = "command") -> list[InboundEmail]:
    """Several emails in one transaction (one commit), each in its own savepoint: what
    one does wrong touches none of the others. The caller gives the batch up at the
    source only after this returns."""
    with transaction.atomic():
        return [ingest_raw(raw=raw, source=source) for raw in raws]


def inbound_retry(*, record: InboundEmail) -> InboundEmail:
    """An admin retries a quarantined email (after fixing what was wrong)."""
    if record.status != InboundStatus.QUARANTINED:
        return record
    retried = ingest_raw(raw=bytes(record.raw), source=f"retry of {record.pk}")
    _finish(record, InboundStatus.QUARANTINED, f"{record.reason} (retried as {retried.pk})")
    record.save(update_fields=["status", "reason"])
    return retried
