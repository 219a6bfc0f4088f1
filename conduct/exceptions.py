"""Conduct errors; subclasses of ``UserError`` so every channel shows them as it
shows any refused request (chat error frame, form error, API problem)."""

from __future__ import annotations

import datetime as dt

from core.errors import UserError


class ConductBlocked(UserError):
    """New sessions on this channel are paused for this customer after repeated
    violations of the code of conduct."""

    code = "conduct_blocked"

    def __init__(self, message: str, *, until: dt.datetime):
        super().__init__(message, field=None)
        self.until = until


class ConductActionError(UserError):
    code = "conduct_action_invalid"
