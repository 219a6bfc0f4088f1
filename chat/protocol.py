"""The live-chat wire protocol: frame shapes, error codes and close codes.

docs/chat-protocol.md documents these for client teams; keep the two in step.
"""

from __future__ import annotations

from typing import Any

from chat.models import ChatEntry, EntryKind
from tickets.models import Attachment

VERSION = 1

# Largest text frame accepted; larger ones close the socket with 1009.
MAX_FRAME_BYTES = 16 * 1024
# Token bucket per socket: a burst of RATE_BURST frames, refilled at RATE_PER_SECOND.
RATE_BURST = 30
RATE_PER_SECOND = 10.0
AGENT_RATE_BURST = 300
AGENT_RATE_PER_SECOND = 100.0
# Frames refused for rate, each within this many seconds of the last, before the socket
# is closed (a client that keeps flooding through the refill).
RATE_STRIKES_BEFORE_CLOSE = 50
RATE_STRIKE_WINDOW_SECONDS = 5.0

# Close codes (4000-4999 are the application's own).
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOKEN_EXPIRED = 4408
CLOSE_TOO_MANY_FRAMES = 4429
CLOSE_NOT_STARTED = 4400


def error(code: str, detail: str, *, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if ref is not None:
        frame["ref"] = ref
    frame.update(extra)
    return frame


def _attachments(entry: ChatEntry, given: list[Attachment] | None) -> list[dict[str, Any]]:
    if given is None:
        given = list(entry.message.attachments.all()) if entry.message is not None else []
    return [
        {
            "id": a.pk,
            "name": a.filename,
            "type": a.content_type,
            "size": a.size,
            "kept": a.kept,
        }
        for a in given
    ]


def entry_frame(entry: ChatEntry, *, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    """One stream item as both the customer's and the agent's clients receive it."""
    frame: dict[str, Any] = {
        "type": str(entry.kind),
        "session": str(entry.session.public_id),
        "seq": entry.seq,
        "sender": str(entry.sender),
        "author": entry.author_name,
        "sent_at": entry.created_at.isoformat(),
    }
    if entry.kind == EntryKind.MESSAGE:
        frame["text"] = entry.text
        frame["client_id"] = entry.client_id or None
        frame["attachments"] = _attachments(entry, attachments)
    elif entry.kind == EntryKind.ENDED:
        frame["reason"] = entry.text
        frame["by"] = entry.data.get("by")
        frame["for_conduct"] = bool(entry.data.get("for_conduct"))
    else:
        frame["agent"] = entry.data.get("agent", entry.author_name)
        if entry.data.get("transferred"):
            frame["transferred"] = True
    return frame


PREVIEW_CHARS = 120


def activity_frame(entry: dict[str, Any]) -> dict[str, Any]:
    """What the handling agent's desk is told of a new message in one of their chats,
    open or not: enough for an unread count, a preview and the list's order."""
    text = entry.get("text") or ""
    names = [a["name"] for a in entry.get("attachments") or []]
    preview = text[:PREVIEW_CHARS] if text else ("📎 " + ", ".join(names))[:PREVIEW_CHARS]
    return {
        "type": "activity",
        "session": entry["session"],
        "seq": entry["seq"],
        "sender": entry["sender"],
        "author": entry["author"],
        "preview": preview,
        "sent_at": entry["sent_at"],
    }
