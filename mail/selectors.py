"""Reads of the inbound mail record for agents: mail that became no ticket (machine and
bulk mail, bounces, quarantined and duplicate mail) stays visible on request."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mail.models import InboundEmail, InboundStatus
from mail.parsing import UnparseableEmail, parse_email

# What the "Other mail" page lists by default: what never reached a ticket as a message.
NOT_TICKETS = (InboundStatus.IGNORED, InboundStatus.BOUNCE, InboundStatus.QUARANTINED)
LISTABLE = (*NOT_TICKETS, InboundStatus.DUPLICATE)
MAX_TEXT_CHARS = 20_000
# Parts larger than this (attachments) are skipped unread: only the text is shown.
TEXT_PART_BYTES = 200_000


def other_mail(*, status: str = "", query: str = "") -> QuerySet[InboundEmail]:
    """Mail that became no ticket, newest first; ``status`` one of ``LISTABLE`` (blank:
    every one that is not a ticket), ``query`` words of the sender or subject."""
    statuses = [status] if status in LISTABLE else list(NOT_TICKETS)
    mails = InboundEmail.objects.filter(status__in=statuses).defer("raw", "authentication")
    query = query.replace("\x00", "").strip()[:200]
    if query:
        mails = mails.filter(Q(sender__icontains=query) | Q(subject__icontains=query))
    return mails.order_by("-received_at", "-id")


def other_mail_text(*, mail: InboundEmail) -> tuple[str, str]:
    """(text, problem): the readable text of a stored mail, at most ``MAX_TEXT_CHARS``;
    a mail that cannot be parsed gives its reason instead."""
    try:
        parsed = parse_email(bytes(mail.raw), max_attachment_bytes=TEXT_PART_BYTES)
    except UnparseableEmail as exc:
        return "", str(exc)
    return parsed.text[:MAX_TEXT_CHARS], ""
