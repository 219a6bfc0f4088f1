"""Webhook signatures, checked on the raw body before anything is parsed.

Meta signs each POST with ``X-Hub-Signature-256: sha256=<hex>``, an HMAC-SHA256 of the
raw body keyed with the app secret. TikTok sends ``TikTok-Signature: t=<unix>,s=<hex>``,
an HMAC-SHA256 keyed with the client secret of ``"<t>.<raw body>"``; the timestamp is
inside the signed text, so an old delivery replayed later is refused by its age.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def meta_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + _hmac_hex(secret, body)


def meta_signature_valid(*, header: str, body: bytes, secrets: Iterable[str]) -> bool:
    """Whether ``header`` signs ``body`` with any of our app secrets (constant time)."""
    if not header.startswith("sha256="):
        return False
    given = header.strip().encode("ascii", "replace")
    valid = False
    for secret in secrets:
        # Every secret is compared, so the time taken does not say which one matched.
        valid |= hmac.compare_digest(meta_signature(secret=secret, body=body).encode(), given)
    return valid


def tiktok_signature(*, secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},s={_hmac_hex(secret, str(timestamp).encode() + b'.' + body)}"


class TikTokSignatureError(Exception):
    pass


def tiktok_signature_check(
    *, header: str, body: bytes, secrets: Iterable[str], now: float, tolerance_seconds: int
) -> None:
    """Raises ``TikTokSignatureError`` with the reason unless ``header`` signs ``body``
    with one of our client secrets and its timestamp is within the tolerance."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)  # "t=...,s=..."
    timestamp, signature = parts.get("t", "").strip(), parts.get("s", "").strip()
    if not timestamp.isdigit() or not signature:
        raise TikTokSignatureError("The TikTok-Signature header is missing or malformed.")
    signed = timestamp.encode() + b"." + body
    valid = False
    for secret in secrets:
        valid |= hmac.compare_digest(_hmac_hex(secret, signed).encode(), signature.encode())
    if not valid:
        raise TikTokSignatureError("The TikTok-Signature does not match this body.")
    if abs(now - int(timestamp)) > tolerance_seconds:
        raise TikTokSignatureError(
            f"The signed timestamp is {abs(now - int(timestamp)):.0f} s away from now "
            f"(at most {tolerance_seconds} s is accepted): a replayed or delayed delivery."
        )
