"""Webhook payloads, in the platforms' documented shapes, as one kind of event.

Meta (Messenger Platform and Instagram messaging webhooks): ``{"object": "page" |
"instagram", "entry": [{"id": <page or account id>, "time": ..., "messaging": [event,
...]}]}``, where an event has ``sender.id``, ``recipient.id``, ``timestamp`` (ms) and one
of ``message`` (``mid``, ``text``, ``attachments[].payload.url``, ``quick_reply.payload``,
``is_echo``), ``postback`` (``title``, ``payload``, ``mid``), ``reaction``, ``read`` or
``delivery``.

Comments and mentions come as ``entry[].changes[]`` items ``{"field": ..., "value":
{...}}`` (Graph API webhooks): Instagram ``comments`` / ``live_comments`` (``id``,
``text``, ``from.id`` (the Instagram-scoped id), ``from.username``, ``media.id``,
``parent_id``) and ``mentions`` (``comment_id``, ``media_id``: the text is read through
the API); Facebook Page ``feed`` with ``item: "comment"`` (``verb`` ``add``,
``comment_id``, ``post_id``, ``parent_id``, ``message``, ``from.id``, ``from.name``,
``created_time`` in seconds, ``photo`` for an image comment).

TikTok Business Messaging webhooks: ``{"event": "im_receive_msg" | "im_send_msg" |
"im_mark_read_msg", "user_openid": <business id>, "content": "<JSON string>"}``; the
content has ``conversation_id``, ``message_id``, ``timestamp`` (ms), ``type`` (``text``,
``image``...), ``text.body``, ``image.media_id``, ``from`` and ``from_user.id``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from social.models import EventKind, Platform

META_OBJECTS = {"page": Platform.FACEBOOK, "instagram": Platform.INSTAGRAM}
TIKTOK_EVENTS = {
    "im_receive_msg": EventKind.MESSAGE,
    "im_send_msg": EventKind.ECHO,
    "im_mark_read_msg": EventKind.READ,
}


class PayloadError(ValueError):
    """A body that is not a delivery in the platform's documented shape."""


@dataclass
class RemoteAttachment:
    kind: str  # image, video, audio, file...
    url: str = ""
    media_id: str = ""  # TikTok: fetched through the media download API


@dataclass
class IncomingEvent:
    platform: str
    account_id: str
    kind: EventKind
    key: str
    sender_id: str = ""
    sent_at: dt.datetime | None = None
    text: str = ""
    payload: str = ""  # the quick reply's or button's payload
    attachments: list[RemoteAttachment] = field(default_factory=list)
    conversation_id: str = ""
    sender_name: str = ""
    detail: str = ""  # a reaction, what a receipt covers
    # Comments and mentions: the comment, the post (or Instagram media) it is on, and the
    # comment it answers.
    comment_id: str = ""
    post_id: str = ""
    parent_id: str = ""

    def __post_init__(self) -> None:
        # PostgreSQL text cannot hold NUL: an id or a text carrying one made the event's
        # insert fail, and the delivery stayed unprocessed, retried for ever.
        for name in (
            "account_id", "key", "sender_id", "text", "payload", "conversation_id",
            "sender_name", "detail", "comment_id", "post_id", "parent_id",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name).replace("\x00", ""))


def _as_time(milliseconds: Any) -> dt.datetime | None:
    if isinstance(milliseconds, int | float) and milliseconds > 0:
        try:
            return dt.datetime.fromtimestamp(milliseconds / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _obj(value: Any) -> dict[str, Any]:
    """A field documented as an object; anything else a forger or a new API version puts
    there reads as empty, not as an AttributeError that leaves the delivery stuck."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fingerprint(item: Any) -> str:
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:32]


def load_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"The body is not JSON: {exc}") from exc
    except RecursionError as exc:
        # "[[[[...": nested deeper than the parser goes. A signed body reaches here, so
        # this was a 500 (and a platform retrying it for hours).
        raise PayloadError("The body is JSON nested too deeply to read.") from exc
    if not isinstance(data, dict):
        raise PayloadError(f"The body is JSON but a {type(data).__name__}, not an object.")
    return data


def meta_event_count(data: dict[str, Any]) -> int:
    """Checks the envelope; returns how many events the delivery carries."""
    # A list or an object there cannot be looked up in the dict (TypeError: a 500).
    if not isinstance(data.get("object"), str) or data["object"] not in META_OBJECTS:
        raise PayloadError(
            f"object must be one of {', '.join(sorted(META_OBJECTS))}, "
            f"not {str(data.get('object'))[:40]!r}."
        )
    entries = data.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PayloadError("entry must be a list of objects.")
    count = 0
    for entry in entries:
        messaging = entry.get("messaging", [])
        if not isinstance(messaging, list):
            raise PayloadError("entry[].messaging must be a list.")
        changes = entry.get("changes", [])
        if not isinstance(changes, list):
            raise PayloadError("entry[].changes must be a list.")
        count += len(messaging) + len(changes)
    return count


def _meta_event(platform: str, account_id: str, item: Any) -> IncomingEvent:
    if not isinstance(item, dict):
        return IncomingEvent(platform, account_id, EventKind.OTHER, f"other:{_fingerprint(item)}")
    sender = str(_obj(item.get("sender")).get("id", ""))[:64]
    sent_at = _as_time(item.get("timestamp"))
    stamp = item.get("timestamp", "")

    def make(kind: EventKind, key: str, **extra: Any) -> IncomingEvent:
        return IncomingEvent(
            platform=platform,
            account_id=account_id,
            kind=kind,
            key=key[:255],
            sender_id=sender,
            sent_at=sent_at,
            **extra,
        )

    message = item.get("message")
    if isinstance(message, dict):
        mid = str(message.get("mid") or f"nomid:{_fingerprint(item)}")
        if message.get("is_echo"):
            return make(EventKind.ECHO, mid)
        quick = message.get("quick_reply")
        attachments = [
            RemoteAttachment(kind=str(a.get("type", "file")), url=str(a["payload"]["url"]))
            for a in _list(message.get("attachments"))
            if isinstance(a, dict)
            and isinstance(a.get("payload"), dict)
            and isinstance(a["payload"].get("url"), str)
        ]
        return make(
            EventKind.QUICK_REPLY if isinstance(quick, dict) else EventKind.MESSAGE,
            mid,
            text=str(message.get("text") or ""),
            payload=str(quick.get("payload", "")) if isinstance(quick, dict) else "",
            attachments=attachments,
        )
    postback = item.get("postback")
    if isinstance(postback, dict):
        key = postback.get("mid") or f"postback:{sender}:{stamp}:{_fingerprint(postback)}"
        return make(
            EventKind.POSTBACK,
            str(key),
            text=str(postback.get("title") or ""),
            payload=str(postback.get("payload") or ""),
        )
    reaction = item.get("reaction")
    if isinstance(reaction, dict):
        action = str(reaction.get("action", "react"))
        emoji = str(reaction.get("emoji") or reaction.get("reaction") or "")
        target = str(reaction.get("mid", ""))
        return make(
            EventKind.REACTION,
            f"reaction:{sender}:{target}:{stamp}:{action}",
            detail=f"{action} {emoji} on {target}",
        )
    for kind, name in ((EventKind.READ, "read"), (EventKind.DELIVERY, "delivery")):
        receipt = item.get(name)
        if isinstance(receipt, dict):
            mark = receipt.get("watermark") or receipt.get("mid") or stamp
            return make(kind, f"{name}:{sender}:{mark}", detail=str(mark))
    return make(EventKind.OTHER, f"other:{_fingerprint(item)}")


def _seconds(value: Any) -> dt.datetime | None:
    """``created_time`` in feed changes: Unix seconds (an ISO string in older versions)."""
    if isinstance(value, int | float):
        return _as_time(value * 1000)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _meta_change(platform: str, account_id: str, change: Any) -> IncomingEvent:
    """One ``entry[].changes[]`` item: a comment or mention, or OTHER."""
    change = _obj(change)
    field_name = str(change.get("field", ""))
    value = _obj(change.get("value"))

    def other() -> IncomingEvent:
        return IncomingEvent(
            platform,
            account_id,
            EventKind.OTHER,
            f"change:{field_name[:40]}:{_fingerprint(change)}",
            detail=f"{field_name} change",
        )

    def text_of(key: str) -> str:
        return str(value.get(key) or "")[:10_000]

    if platform == Platform.INSTAGRAM and field_name in ("comments", "live_comments"):
        comment_id = str(value.get("id") or "")[:200]
        if not comment_id:
            return other()
        author = _obj(value.get("from"))
        sender = str(author.get("id") or "")[:64]
        return IncomingEvent(
            platform=platform,
            account_id=account_id,
            kind=EventKind.ECHO if sender == account_id else EventKind.COMMENT,
            key=f"comment:{comment_id}",
            sender_id=sender,
            sender_name=str(author.get("username") or "")[:150],
            text=text_of("text"),
            comment_id=comment_id,
            post_id=str(_obj(value.get("media")).get("id") or "")[:200],
            parent_id=str(value.get("parent_id") or "")[:200],
        )
    if platform == Platform.INSTAGRAM and field_name == "mentions":
        media_id = str(value.get("media_id") or "")[:200]
        comment_id = str(value.get("comment_id") or "")[:200]
        if not media_id:
            return other()
        return IncomingEvent(
            platform=platform,
            account_id=account_id,
            kind=EventKind.MENTION,
            key=f"mention:{media_id}:{comment_id}",
            comment_id=comment_id,
            post_id=media_id,
        )
    if platform == Platform.FACEBOOK and field_name == "feed" and value.get("item") == "comment":
        comment_id = str(value.get("comment_id") or "")[:200]
        verb = str(value.get("verb") or "")
        if not comment_id or verb != "add":
            # Edits and removals are kept on the event row: the comment as first written
            # stays on the ticket.
            event = other()
            event.detail = f"comment {verb[:20]} {comment_id}"
            return event
        author = _obj(value.get("from"))
        sender = str(author.get("id") or "")[:64]
        photo = value.get("photo")
        post_id = str(value.get("post_id") or "")[:200]
        parent = str(value.get("parent_id") or "")[:200]
        return IncomingEvent(
            platform=platform,
            account_id=account_id,
            kind=EventKind.ECHO if sender == account_id else EventKind.COMMENT,
            key=f"comment:{comment_id}",
            sender_id=sender,
            sender_name=str(author.get("name") or "")[:150],
            sent_at=_seconds(value.get("created_time")),
            text=text_of("message"),
            attachments=[RemoteAttachment(kind="image", url=photo)]
            if isinstance(photo, str) and photo
            else [],
            comment_id=comment_id,
            post_id=post_id,
            # A top-level comment's parent is the post itself.
            parent_id="" if parent == post_id else parent,
        )
    return other()


def meta_events(data: dict[str, Any]) -> list[IncomingEvent]:
    platform = META_OBJECTS[data["object"]]
    events = []
    for entry in data["entry"]:
        account_id = str(entry.get("id", ""))[:64]
        events += [_meta_event(platform, account_id, item) for item in entry.get("messaging", [])]
        events += [_meta_change(platform, account_id, item) for item in entry.get("changes", [])]
    return events


def tiktok_check(data: dict[str, Any]) -> None:
    if not isinstance(data.get("event"), str) or not data.get("user_openid"):
        raise PayloadError("A TikTok event needs event and user_openid.")
    if not isinstance(data.get("content"), str | dict):
        raise PayloadError("A TikTok event needs content (a JSON string).")


def tiktok_event(data: dict[str, Any]) -> IncomingEvent:
    business_id = str(data["user_openid"])[:64]
    kind = TIKTOK_EVENTS.get(data["event"], EventKind.OTHER)
    content = data["content"]
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            content = None
    if not isinstance(content, dict):
        return IncomingEvent(
            Platform.TIKTOK, business_id, EventKind.OTHER, f"other:{_fingerprint(data)}"
        )
    conversation = str(content.get("conversation_id", ""))[:128]
    sender = str(_obj(content.get("from_user")).get("id", ""))[:64]
    message_id = content.get("message_id")
    if kind == EventKind.READ:
        key = f"read:{conversation}:{content.get('timestamp', '')}"
    else:
        key = str(message_id or f"{data['event']}:{_fingerprint(content)}")
    message_type = content.get("type", "")
    text = ""
    attachments = []
    if message_type == "text":
        text = str(_obj(content.get("text")).get("body", ""))
    elif message_type == "image":
        media_id = str(_obj(content.get("image")).get("media_id", ""))
        attachments.append(RemoteAttachment(kind="image", media_id=media_id))
    elif message_type == "share_post":
        text = str(_obj(content.get("share_post")).get("embed_url", ""))
    elif kind == EventKind.MESSAGE:
        text = f"({message_type or 'unknown'} message: not supported by the TikTok API)"
    return IncomingEvent(
        platform=Platform.TIKTOK,
        account_id=business_id,
        kind=kind,
        key=key[:255],
        sender_id=sender,
        sent_at=_as_time(content.get("timestamp")),
        text=text,
        attachments=attachments,
        conversation_id=conversation,
        sender_name=str(content.get("from", ""))[:150],
    )
