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
