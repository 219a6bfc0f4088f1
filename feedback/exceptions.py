from __future__ import annotations

from core.errors import UserError


class InvalidRating(UserError):
    code = "invalid_rating"


class RatingLocked(UserError):
    """The rating window has passed: the score can no longer be changed."""

    code = "rating_locked"
