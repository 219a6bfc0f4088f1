"""The chat transcript the customer can ask to be emailed."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from chat.models import ChatSession, EntryKind
from mail.outbound import stable_message_id
from policy.loader import get_policy


def transcript_text(session: ChatSession) -> str:
    zone = get_policy().calendar.zone
    lines = [
        f"Your live chat with {get_policy().organisation.name} Support "
        f"({session.ticket.reference})",
        f"Times are in {get_policy().calendar.time_zone}.",
        "",
    ]
    for entry in session.entries.order_by("seq"):
        stamp = timezone.localtime(entry.created_at, zone).strftime("%d %b %Y %H:%M")
        if entry.kind == EntryKind.MESSAGE:
            lines.append(f"[{stamp}] {entry.author_name}: {entry.text}")
        elif entry.kind == EntryKind.AGENT_JOINED:
            lines.append(f"[{stamp}] {entry.author_name} joined the chat.")
        elif entry.kind == EntryKind.AGENT_LEFT:
            lines.append(f"[{stamp}] {entry.author_name} left the chat.")
        elif entry.kind == EntryKind.ENDED:
            reason = f" Reason: {entry.text}" if entry.text else ""
            lines.append(f"[{stamp}] The chat ended.{reason}")
    return "\n".join(lines) + "\n"


def transcript_send(*, session_id: int) -> None:
    session = ChatSession.objects.select_related("ticket", "customer").get(pk=session_id)
    EmailMessage(
        subject=f"Your chat transcript [{session.ticket.reference}]",
        body=transcript_text(session),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[session.customer.email],
        headers={
            "Auto-Submitted": "auto-generated",
            # A task run again sends the same mail: the same Message-ID.
            "Message-ID": stable_message_id(
                kind="transcript", pk=session.pk, created_at=session.queued_at
            ),
        },
    ).send()
