"""Calls to the platforms' HTTP APIs (Meta Graph API, TikTok Business API) with httpx.

Base URLs and versions come from settings, so tests and staging point them at a loopback
server. Access tokens travel in headers, never in URLs, so an exception or a log line that
shows a URL shows no secret.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from core import outbound
from social.models import Platform, SocialAccount

logger = logging.getLogger(__name__)

# Graph API error codes that retrying cannot fix (Messenger Platform error codes): the
# token expired or was revoked (190), permission missing or outside the allowed window
# (10, 200-299), the person is not available / blocked the page (551), bad recipient (100).
META_PERMANENT_CODES = {10, 100, 190, 551} | set(range(200, 300))
# Temporary problems and rate limits: the outbox retries these with back-off.
META_TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613}
# TikTok Business API: 40100 is "requests made too frequently"; 5xxxx are server errors.
TIKTOK_TRANSIENT_CODES = {40100}


class PlatformError(Exception):
    """A call failed. ``permanent`` when retrying cannot help; ``reason`` is the API's
    own message (with its code), shown to the agent."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(settings.IZONIE_SOCIAL_HTTP_TIMEOUT_SECONDS)


_shared: httpx.Client | None = None


def _client() -> httpx.Client:
    """One client per process: building one loads the CA bundle (about 80 ms), and
    reusing it keeps connections to the platform open. httpx clients are thread-safe."""
    global _shared
    if _shared is None:
        _shared = httpx.Client()
    return _shared


def graph_url(path: str) -> str:
    base = settings.IZONIE_META_GRAPH_URL.rstrip("/")
    return f"{base}/{settings.IZONIE_META_GRAPH_VERSION}/{path.lstrip('/')}"


def tiktok_url(path: str) -> str:
    base = settings.IZONIE_TIKTOK_API_URL.rstrip("/")
    return f"{base}/open_api/{settings.IZONIE_TIKTOK_API_VERSION}/{path.lstrip('/')}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _meta_error(response: httpx.Response) -> PlatformError:
    error = _json(response).get("error")
    if not isinstance(error, dict):
        return PlatformError(
            f"The Graph API answered HTTP {response.status_code}.",
            permanent=response.status_code < 500 and response.status_code != 429,
        )
    code = error.get("code") if isinstance(error.get("code"), int) else None
    reason = f"{error.get('message', 'Graph API error')} (code {code}"
    if error.get("error_subcode"):
        reason += f", subcode {error['error_subcode']}"
    reason += ")"
    if code in META_TRANSIENT_CODES or response.status_code >= 500:
        return PlatformError(reason, permanent=False, code=code)
    return PlatformError(reason, permanent=True, code=code)


def _send(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return _client().request(method, url, timeout=_timeout(), **kwargs)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"No answer from {httpx.URL(url).host}: {type(exc).__name__}", permanent=False
        ) from exc


def meta_send(*, account: SocialAccount, body: dict[str, Any]) -> str:
    """Send API: POST /{page or account id}/messages. Returns the new message id."""
    response = _send(
        "POST",
        graph_url(f"{account.external_id}/messages"),
        json=body,
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    if response.status_code != 200:
        raise _meta_error(response)
    return str(_json(response).get("message_id", ""))


def meta_send_file(
    *,
    account: SocialAccount,
    fields: dict[str, Any],
    attachment_type: str,
    filename: str,
    content: bytes,
    content_type: str,
) -> str:
    """Send API with an upload: the file goes as multipart ``filedata`` beside the
    ``recipient`` and ``message`` fields (JSON), as Meta documents for local files."""
    form = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in fields.items()
    }
    form["message"] = json.dumps(
        {"attachment": {"type": attachment_type, "payload": {"is_reusable": False}}}
    )
    response = _send(
        "POST",
        graph_url(f"{account.external_id}/messages"),
        data=form,
        files={"filedata": (filename, content, content_type)},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    if response.status_code != 200:
        raise _meta_error(response)
    return str(_json(response).get("message_id", ""))


def meta_profile_name(*, account: SocialAccount, sender_id: str) -> str:
    """The sender's public name where the API gives it, else "" (never an error)."""
    fields = "first_name,last_name" if account.platform == Platform.FACEBOOK else "name,username"
    try:
        response = _send(
            "GET",
            graph_url(sender_id),
            params={"fields": fields},
            headers={"Authorization": f"Bearer {account.access_token}"},
        )
    except PlatformError as exc:
        logger.info("Profile of %s not fetched: %s", sender_id, exc.reason)
        return ""
    if response.status_code != 200:
        logger.info("Profile of %s not fetched: %s", sender_id, _meta_error(response).reason)
        return ""
    data = _json(response)
    full = " ".join(str(data.get(k, "")) for k in ("first_name", "last_name")).strip()
    return (full or str(data.get("name") or data.get("username") or ""))[:150]


def _tiktok_result(response: httpx.Response) -> dict[str, Any]:
    data = _json(response)
    code = data.get("code")
    if response.status_code == 200 and code == 0:
        result = data.get("data")
        return result if isinstance(result, dict) else {}
    reason = f"{data.get('message') or f'HTTP {response.status_code}'} (code {code})"
    transient = (
        response.status_code >= 500
        or response.status_code == 429
        or code in TIKTOK_TRANSIENT_CODES
        or (isinstance(code, int) and code >= 50000)
    )
    return_code = code if isinstance(code, int) else None
    raise PlatformError(reason, permanent=not transient, code=return_code)


def tiktok_send(*, account: SocialAccount, conversation_id: str, text: str) -> str:
    """TikTok Business Messaging: POST /business/message/send/ to the conversation."""
    response = _send(
        "POST",
        tiktok_url("business/message/send/"),
        json={
            "business_id": account.external_id,
            "recipient_type": "CONVERSATION",
            "recipient": conversation_id,
            "message_type": "TEXT",
            "text": {"body": text},
        },
        headers={"Access-Token": account.access_token},
    )
    result = _tiktok_result(response)
    message = result.get("message")
    return str(message.get("message_id", "")) if isinstance(message, dict) else ""


def tiktok_media_url(
    *, account: SocialAccount, conversation_id: str, message_id: str, media_id: str
) -> str:
    response = _send(
        "POST",
        tiktok_url("business/message/media/download/"),
        json={
            "business_id": account.external_id,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "media_id": media_id,
            "media_type": "IMAGE",
        },
        headers={"Access-Token": account.access_token},
    )
    return str(_tiktok_result(response).get("download_url", ""))


@dataclass
class Downloaded:
    content: bytes
    filename: str
    content_type: str


class AttachmentNotFetched(Exception):
    pass


def attachment_fetch(
    *, url: str, max_bytes: int, headers: dict[str, str] | None = None
) -> Downloaded:
    """Download a customer's attachment from the platform's media hosts only
    (``IZONIE_SOCIAL_MEDIA_HOSTS``, public addresses, checked at every redirect: see
    core.outbound), refusing it as soon as it passes ``max_bytes`` (by its Content-Length,
    or while reading), so a huge file is never held in memory. The reason given on
    failure is shown on the ticket, so it names no address, port or exception."""
    limit = filesizeformat(max_bytes)
    try:
        fetched = outbound.fetch(
            url=url,
            hosts=settings.IZONIE_SOCIAL_MEDIA_HOSTS,
            max_bytes=max_bytes,
            timeout_seconds=settings.IZONIE_SOCIAL_HTTP_TIMEOUT_SECONDS,
            headers=headers,
        )
    except outbound.TooLarge as exc:
        if exc.declared is not None:
            raise AttachmentNotFetched(
                f"the file is {filesizeformat(exc.declared)}; the limit is {limit}"
            ) from exc
        raise AttachmentNotFetched(f"the file is larger than the limit of {limit}") from exc
    except outbound.FetchRefused as exc:
        raise AttachmentNotFetched(
            f"the platform's media link could not be fetched: {exc.reason}"
        ) from exc
    name = fetched.url.path.rsplit("/", 1)[-1] or "attachment"
    return Downloaded(
        content=fetched.content, filename=name[:200], content_type=fetched.content_type
    )


# --- Public comments


def _meta_post(*, account: SocialAccount, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = _send(
        "POST",
        graph_url(path),
        json=body,
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    if response.status_code != 200:
        raise _meta_error(response)
    return _json(response)


def comment_public_reply(
    *, account: SocialAccount, comment_id: str, text: str, mention_media_id: str = ""
) -> str:
    """Answer a comment in public, under it. Facebook: ``POST /{comment-id}/comments``;
    Instagram: ``POST /{ig-comment-id}/replies``; an Instagram mention (a comment on
    someone else's media): ``POST /{ig-user-id}/mentions`` with ``comment_id`` and
    ``media_id``. Returns the new comment's id."""
    if mention_media_id:
        data = _meta_post(
            account=account,
            path=f"{account.external_id}/mentions",
            body={
                "media_id": mention_media_id,
                "message": text,
                # Without a comment id, the mention was in a caption: answered on the media.
                **({"comment_id": comment_id} if comment_id else {}),
            },
        )
    elif account.platform == Platform.INSTAGRAM:
        data = _meta_post(account=account, path=f"{comment_id}/replies", body={"message": text})
    else:
        data = _meta_post(account=account, path=f"{comment_id}/comments", body={"message": text})
    return str(data.get("id", ""))


def comment_private_reply(*, account: SocialAccount, comment_id: str, text: str) -> str:
    """Private replies: one direct message to the person who commented, through the
    Send API with ``recipient: {"comment_id": ...}`` (Facebook Pages and Instagram).
    Returns the message id."""
    data = _meta_post(
        account=account,
        path=f"{account.external_id}/messages",
        body={"recipient": {"comment_id": comment_id}, "message": {"text": text}},
    )
    return str(data.get("message_id", ""))


@dataclass
class MentionedComment:
    text: str
    username: str
    at: str


def instagram_mentioned_comment(
    *, account: SocialAccount, comment_id: str, media_id: str
) -> MentionedComment | None:
    """The text of a comment (or, without a comment id, the caption) that @mentions our
    Instagram account: the webhook gives only ids. ``GET /{ig-user-id}?fields=
    mentioned_comment.comment_id(...){text,username,timestamp}`` or
    ``mentioned_media.media_id(...){caption,username,timestamp}``. None when the API
    does not answer (the mention still reaches the agents, without its text)."""
    if comment_id:
        edge, fields = "mentioned_comment", f"mentioned_comment.comment_id({comment_id})"
        fields += "{text,username,timestamp}"
    else:
        edge, fields = "mentioned_media", f"mentioned_media.media_id({media_id})"
        fields += "{caption,username,timestamp}"
    try:
        response = _send(
            "GET",
            graph_url(account.external_id),
            params={"fields": fields},
            headers={"Authorization": f"Bearer {account.access_token}"},
        )
    except PlatformError as exc:
        logger.info("Mention %s not read: %s", comment_id or media_id, exc.reason)
        return None
    if response.status_code != 200:
        logger.info("Mention %s not read: %s", comment_id or media_id, _meta_error(response))
        return None
    found = _json(response).get(edge)
    if not isinstance(found, dict):
        return None
    return MentionedComment(
        text=str(found.get("text") or found.get("caption") or "")[:10_000],
        username=str(found.get("username") or "")[:150],
        at=str(found.get("timestamp") or ""),
    )
