"""Signed, expiring tokens for the one-click links in the rating email. A token names
the rating request (hence the ticket and interaction) and the score; it expires after
the policy's rating window."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from policy.loader import get_policy

SALT = "feedback.rating-link"


class LinkInvalid(Exception):
    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.message = message
        self.expired = expired


@dataclass(frozen=True)
class LinkClaim:
    request_id: int
    score: int


def link_token(*, request_id: int, score: int) -> str:
    return signing.dumps({"r": request_id, "s": score}, salt=SALT)


def link_read(token: str) -> LinkClaim:
    max_age = get_policy().feedback.rating_window.timedelta
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkInvalid(
            "This rating link has expired: links work for "
            f"{get_policy().feedback.rating_window} after the request was solved.",
            expired=True,
        ) from None
    except signing.BadSignature:
        raise LinkInvalid(
            "This rating link is not valid. It may have been cut short or changed; "
            "open it again from the email, exactly as it is."
        ) from None
    if not isinstance(data, dict):
        raise LinkInvalid("This rating link is not valid.")
    request_id, score = data.get("r"), data.get("s")
    if not isinstance(request_id, int) or not isinstance(score, int):
        raise LinkInvalid("This rating link is not valid.")
    return LinkClaim(request_id=request_id, score=score)
