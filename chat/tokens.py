"""Resume tokens: a signed, expiring proof that this client holds this chat session.

The token carries the session's public id; the signature (Django's SECRET_KEY) makes
it unforgeable and the timestamp makes it expire, so nothing needs storing server-side.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing

_SALT = "izonie.chat.resume"


class TokenError(Exception):
    code = "token_invalid"


class TokenExpired(TokenError):
    code = "token_expired"


def token_for(public_id: uuid.UUID) -> str:
    return signing.dumps({"s": str(public_id)}, salt=_SALT, compress=False)


def session_id_from(token: str) -> uuid.UUID:
    """The session's public id, or TokenExpired / TokenError."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.IZONIE_CHAT_TOKEN_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise TokenExpired("This chat has expired. Start a new chat.") from exc
    except signing.BadSignature as exc:
        raise TokenError("This chat token is not valid.") from exc
    try:
        return uuid.UUID(str(data["s"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("This chat token is not valid.") from exc
