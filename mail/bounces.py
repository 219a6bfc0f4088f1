"""Delivery failure reports ("bounces"): recognised, matched to the reply they are about,
and that reply marked failed with the reason so the agent sees it on the ticket.

Standard reports are multipart/report with a message/delivery-status part (RFC 3464).
Many servers still send their own formats (Exim's X-Failed-Recipients, qmail's "failure
notice", Exchange and hosted-mail prose), so the non-standard ones are recognised by
their sender and subject, and the original is found by any of our Message-IDs quoted
anywhere in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from functools import partial

from django.db import transaction

from tickets import events, realtime
from tickets.choices import Channel, DeliveryStatus, Direction
from tickets.models import OutboundMessage

_BOUNCE_SENDER_RE = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|bounces?)@", re.I)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver(ed|able)|delivery (status notification|failure|has failed)|"
    r"returned mail|failure notice|mail delivery (failed|failure|subsystem)|"
    r"could not be delivered|non[- ]?delivery",
    re.I,
)
_MESSAGE_ID_RE = re.compile(r"^\s*Message-ID:\s*<([^<>\s]+)>", re.I | re.M)
_ANY_ID_RE = re.compile(r"<([^<>\s@]+@[^<>\s]+)>")
# "550 5.1.1 ..." or "5.1.1": the SMTP reply in prose bounces.
_SMTP_ERROR_RE = re.compile(
    r"\b([45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}[^\n]*|[45]\d\d [^\n]{5,})"
    r"|^([^\n]*\(#[45]\.\d{1,3}\.\d{1,3}\))",  # qmail: "Sorry, no mailbox here. (#5.1.1)"
    re.M,
)
MAX_SCAN_BYTES = 256 * 1024


@dataclass
class Bounce:
    failed: bool  # False for "delayed" or "delivered" reports: nothing to mark
    recipients: list[str]
    reason: str
    # Candidate ids of the original message, the most specific first.
    original_ids: list[str] = field(default_factory=list)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")
    return ""


def _delivery_status(part: Message) -> tuple[bool, list[str], list[str]]:
    """(any recipient failed, recipients, reasons) from a message/delivery-status part."""
    blocks = part.get_payload()
    failed = False
    recipients: list[str] = []
    reasons: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Message):
            continue
        action = str(block.get("Action", "")).strip().lower()
        if not action:
            continue
        recipient = str(block.get("Final-Recipient", "")).rpartition(";")[2].strip()
        if action == "failed":
            failed = True
            recipients.append(recipient)
            status = str(block.get("Status", "")).strip()
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            diagnostic = diagnostic.partition(";")[2].strip() or diagnostic
            reasons.append(" ".join(filter(None, [status, diagnostic])) or "failed")
    return failed, recipients, reasons


def bounce_report(message: EmailMessage, raw: bytes) -> Bounce | None:
    """The delivery report this mail is, or None when it is not one."""
    standard = message.get_content_type() == "multipart/report" and (
        str(message.get_param("report-type", "")).lower() == "delivery-status"
    )
    sender = str(message.get("From", ""))
    address = sender.rpartition("<")[2].rstrip(">").strip() if "<" in sender else sender
    address = address.split("(")[0].strip()
    failed_header = str(message.get("X-Failed-Recipients", ""))
    looks_like = bool(failed_header) or (
        bool(_BOUNCE_SENDER_RE.match(address))
        and bool(_BOUNCE_SUBJECT_RE.search(str(message.get("Subject", ""))))
    )
    if not standard and not looks_like:
        return None
    failed = not standard  # a prose bounce is always a failure
    recipients = [a.strip() for a in failed_header.split(",") if a.strip()]
    reasons: list[str] = []
    header_ids: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            any_failed, found, why = _delivery_status(part)
            failed = failed or any_failed
            recipients += found
            reasons += why
        elif content_type == "text/rfc822-headers":
            header_ids += _MESSAGE_ID_RE.findall(_text(part))
        elif content_type == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                header_ids += _ANY_ID_RE.findall(str(inner.get("Message-ID", "")))
    # The report quotes the original, which may be large: its headers are near the top.
    text = raw[:MAX_SCAN_BYTES].decode("utf-8", errors="replace")
    if not reasons:
        match = _SMTP_ERROR_RE.search(text.split("\n\n", 1)[-1])
        reasons.append(match.group(0).strip() if match else "the receiving server refused it")
    own_id = _ANY_ID_RE.findall(str(message.get("Message-ID", "")))
    candidates = [*header_ids, *_MESSAGE_ID_RE.findall(text), *_ANY_ID_RE.findall(text)]
    original_ids = list(dict.fromkeys(i for i in candidates if i not in own_id))
    return Bounce(
        failed=failed,
        recipients=list(dict.fromkeys(r for r in recipients if r)),
        reason="; ".join(dict.fromkeys(reasons))[:500],
        original_ids=original_ids[:50],
    )


def outbound_for_bounce(bounce: Bounce) -> OutboundMessage | None:
    if not bounce.original_ids:
        return None
    return (
        OutboundMessage.objects.select_related("message__ticket")
        .filter(
            channel=Channel.EMAIL,
            message__channel=Channel.EMAIL,
            message__direction=Direction.OUTBOUND,
            message__external_id__in=bounce.original_ids,
        )
        .first()
    )


@transaction.atomic
def outbound_bounced(*, outbound: OutboundMessage, bounce: Bounce) -> bool:
    """Mark a sent reply failed because its delivery report says so. Once only: the same
    report delivered twice, or a second report for it, changes nothing more."""
    outbound = OutboundMessage.objects.select_for_update().get(pk=outbound.pk)
    if outbound.status == DeliveryStatus.FAILED:
        return False
    # Prose bounces do not always name the address; the reply went to the requester.
    who = ", ".join(bounce.recipients) or outbound.message.ticket.requester.email
    outbound.status = DeliveryStatus.FAILED
    outbound.last_error = f"Bounced by {who}'s mail server: {bounce.reason}"[:2000]
    outbound.save(update_fields=["status", "last_error"])
    events.delivery_failed(outbound=outbound)
    ticket_id = outbound.message.ticket_id
    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket_id))
    return True
