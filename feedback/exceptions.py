from __future__ import annotations

from tickets.exceptions import TicketError


class InvalidRating(TicketError):
    code = "invalid_rating"


class RatingLocked(TicketError):
    """The rating window has passed: the score can no longer be changed."""

    code = "rating_locked"
