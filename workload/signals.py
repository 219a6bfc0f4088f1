"""Signing out ends the agent's shift: the same as pressing "End shift"."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import User
from workload.models import ShiftEnd
from workload.shifts import shift_end


def shift_end_on_sign_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if isinstance(user, User) and user.is_agent:
        shift_end(agent=user, reason=ShiftEnd.SIGNED_OUT)
