"""The chat transcript the customer can ask to be emailed."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
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
    base = str(settings.IZONIE_PUBLIC_URL).rstrip("/")
    entries = session.entries.select_related("message").prefetch_related("message__attachments")
    for entry in entries.order_by("seq"):
        stamp = timezone.localtime(entry.created_at, zone).strftime("%d %b %Y %H:%M")
        if entry.kind == EntryKind.MESSAGE:
            text = f" {entry.text}" if entry.text else ""
            lines.append(f"[{stamp}] {entry.author_name}:{text}")
            files = list(entry.message.attachments.all()) if entry.message else []
            for item in files:
                kind = "Photo" if item.content_type.startswith("image/") else "File"
                if item.kept:
                    url = base + reverse("portal:attachment", args=[item.pk])
                    size = filesizeformat(item.size)
                    lines.append(f"    {kind}: {item.filename} ({size}): {url}")
                else:
                    lines.append(f"    {kind}: {item.filename} (not kept)")
        elif entry.kind == EntryKind.AGENT_JOINED:
            lines.append(f"[{stamp}] {entry.author_name} joined the chat.")
        elif entry.kind == EntryKind.AGENT_LEFT and entry.data.get("transferred"):
            # The same words the customer saw in the chat.
            lines.append(f"[{stamp}] {entry.author_name} transferred you to a colleague.")
        elif entry.kind == EntryKind.AGENT_LEFT:
            lines.append(f"[{stamp}] {entry.author_name} left the chat.")
        elif entry.kind == EntryKind.ENDED:
            reason = f" Reason: {entry.text}" if entry.text else ""
            lines.append(f"[{stamp}] The chat ended.{reason}")
    lines += [
        "",
        "Your request and its files (sign in to open them): "
        + base
        + reverse("portal:request", args=[session.ticket_id]),
    ]
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
