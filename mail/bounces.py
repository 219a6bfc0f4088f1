"""Delivery failure reports ("bounces"): recognised, matched to the reply they are about,
and that reply marked failed with the reason so the agent sees it on the ticket.

Standard reports are multipart/report with a message/delivery-status part (RFC 3464).
Many servers still send their own formats (Exim's X-Failed-Recipients, qmail's "failure
notice", Exchange, GroupWise, Yahoo, AOL and Hotmail prose): those are read by
flufl.bounce (the detectors of GNU Mailman), and a mail-system sender with a report's
subject that it cannot read is still a failure. The original is found by any of our
Message-IDs quoted anywhere in the report.
"""

from __future__ import annotations

import email
import email.utils
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.policy import Policy
from functools import partial

from django.db import transaction
from flufl.bounce import all_failures

from tickets import events, realtime
from tickets.choices import Channel, DeliveryStatus, Direction
from tickets.models import OutboundMessage

# Local parts of the mail system's own senders: what they send is a bounce or other
# machine mail, never a customer's request.
MAIL_SYSTEM_RE = re.compile(
    r"^(mailer[-_.]?daemon|mail[-_.]?daemon|mdaemon|postmaster|ndr|imss|bounces?|"
    r"mail[-_.]?delivery[-_.]?(system|subsystem)|mail[-_.]?system|"
    r"mail[-_.]?administrator|mailadmin|smtp[-_.]?gateway)$",
    re.I,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver(ed|able)|delivery (status notification|failure|has failed|report|problem|"
    r"notification)|returned mail|failure notice|mail delivery (failed|failure|subsystem)|"
    r"could not be delivered|non[- ]?delivery|not delivered|delivery failed|mail error|"
    r"failed mail|failure delivery|delivery warning|message delayed|"
    r"has not yet been delivered|permanent delivery failure|"
    # The same in the languages of common servers' reports.
    r"non remis|unzustellbar|no entregado|non recapitato|не доставлено",
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
logger = logging.getLogger(__name__)
# flufl.bounce logs every detector it runs at INFO (a dozen lines per mail), and a
# detector's failure at ERROR before raising it: ``_library_verdict`` logs that itself.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


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


def mail_system_sender(address: str) -> bool:
    """The mail system's own address (MAILER-DAEMON, postmaster, the null sender)."""
    local = address.rpartition("@")[0] if "@" in address else address
    return not local.strip() or bool(MAIL_SYSTEM_RE.match(local.strip()[:64]))


_SYSTEM_NAME_RE = re.compile(r"mail(er)?[- ]daemon|postmaster|mail delivery", re.I)


def from_mail_system(message: EmailMessage, sender: str) -> bool:
    """Sent by the mail system itself: its From address or name, or a Return-Path that
    is null (RFC 5321 bounces) or the mail system's own."""
    if mail_system_sender(sender):
        return True
    name = email.utils.parseaddr(str(message.get("From", "")))[0]
    if _SYSTEM_NAME_RE.search(name[:100]):
        return True
    value = message.get("Return-Path")
    if value is None:
        return False
    return_path = str(value).strip().strip("<>").strip()
    return mail_system_sender(return_path)


# What the detectors read of a report: its own text is at the top (the largest of the
# corpus's 117 reports is 344 lines); the original it quotes may follow, cut here. Their
# phrase matching costs about 11 µs a line, so this bounds a hostile "report" to ~25 ms.
LIBRARY_SCAN_LINES = 2_000
LIBRARY_SCAN_BYTES = 64 * 1024


def _report_head(raw: bytes) -> bytes:
    head = raw[:LIBRARY_SCAN_BYTES]
    cut = -1
    for _ in range(LIBRARY_SCAN_LINES):
        cut = head.find(b"\n", cut + 1)
        if cut < 0:
            return head
    return head[: cut + 1]


def _library_verdict(raw: bytes, policy: Policy) -> tuple[list[str], list[str]]:
    """(temporarily, permanently) failed recipients by flufl.bounce, which knows the
    reports of qmail, Exim, Postfix, Exchange, GroupWise, Yahoo, AOL, Hotmail and more.
    It is given its own copy of the mail, with a From it can read: some of its
    detectors fail on the null sender."""
    # Parsed again with our header policy: headers are plain text (the compat32 default
    # hands detectors Header objects for 8-bit headers, which some of them fail on).
    message = email.message_from_bytes(_report_head(raw), policy=policy)
    from_address = email.utils.parseaddr(str(message.get("From", "")))[1]
    if "@" not in from_address:
        del message["From"]
        message["From"] = "MAILER-DAEMON@unknown.invalid"
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector's bug on a mail it did not expect: no verdict
        logger.info("flufl.bounce failed on a mail", exc_info=True)
        return [], []

    def addresses(found: frozenset[bytes]) -> list[str]:
        return sorted(a.decode("utf-8", "replace").strip() for a in found if a.strip())

    return addresses(temporary), addresses(permanent)


def bounce_report(
    message: EmailMessage, raw: bytes, sender: str = "", *, system_sender: bool = False
) -> Bounce | None:
    """The delivery report this mail is, or None when it is not one.

    A standard report (RFC 3464) is read as such. Any other mail that may be one (sent
    by the mail system, with a null return path, a report's subject or an Exim
    X-Failed-Recipients header) is given to flufl.bounce; failing that, a mail-system
    sender with a report's subject is a report we cannot read. Mail that looks like
    none of these is never given to the detectors: they match phrases ("could not be
    delivered") that a customer's own mail may quote."""
    standard = message.get_content_type() == "multipart/report" and (
        str(message.get_param("report-type", "")).lower() == "delivery-status"
    )
    if not sender:
        sender = email.utils.parseaddr(str(message.get("From", "")))[1]
    failed_header = str(message.get("X-Failed-Recipients", ""))
    from_system = system_sender or from_mail_system(message, sender)
    bounce_subject = bool(_BOUNCE_SUBJECT_RE.search(str(message.get("Subject", ""))[:300]))
    if not (standard or failed_header or from_system or bounce_subject):
        return None
    temporary, permanent = _library_verdict(raw, message.policy)
    if not (standard or failed_header or temporary or permanent or from_system):
        return None
    if not (standard or failed_header or temporary or permanent or bounce_subject):
        return None
    # A prose bounce is a failure unless the detectors found only delays.
    failed = bool(permanent or failed_header) or not (standard or temporary)
    recipients = [a.strip() for a in failed_header.split(",") if a.strip()]
    recipients += permanent or temporary
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
    outbound = OutboundMessage.objects.select_for_update(no_key=True).get(pk=outbound.pk)
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
