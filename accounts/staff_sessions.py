"""Staff sessions: idle time-out, and the account re-check of a long-lived agent socket.

Customers' sessions keep Django's defaults; only the support team's, which reach every
customer's conversations, end after ``IZONIE_STAFF_IDLE_TIMEOUT_SECONDS`` without use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from accounts.models import User
from accounts.two_factor import session_is_verified, two_factor_applies

LAST_ACTIVITY_KEY = "izonie_staff_last_activity"
# Rewriting the session on every request would turn each page view into a write.
_ACTIVITY_RESOLUTION_SECONDS = 60


def idle_expired(session: SessionBase, *, now: float) -> bool:
    last = session.get(LAST_ACTIVITY_KEY)
    if not isinstance(last, int | float):
        return False  # signed in before the time-out existed, or just now: counts from here
    return now - last > settings.IZONIE_STAFF_IDLE_TIMEOUT_SECONDS


def activity_record(session: SessionBase, *, now: float) -> None:
    last = session.get(LAST_ACTIVITY_KEY)
    if not isinstance(last, int | float) or now - last >= _ACTIVITY_RESOLUTION_SECONDS:
        session[LAST_ACTIVITY_KEY] = int(now)


@dataclass(frozen=True)
class SocketCheck:
    problem: str | None  # the error code to close with; None: the account may go on
    user: User | None  # re-read: its role may have changed (supervisor to agent)


def staff_socket_check(
    *, user_id: int, session_key: str | None, now: float, active: bool
) -> SocketCheck:
    """Whether an agent socket may go on, re-read from the database (the socket's user
    object is a copy from when it connected).

    ``active`` says the console sent frames since the last check: that is activity too (an
    agent chatting for hours makes no page requests), so the session's idle clock moves on.
    """
    user = User.objects.filter(pk=user_id).first()
    problem = _problem(user, session_key=session_key, now=now, active=active)
    return SocketCheck(problem=problem, user=None if problem else user)


def _problem(user: User | None, *, session_key: str | None, now: float, active: bool) -> str | None:
    if user is None or not user.is_active:
        return "account_disabled"
    if not user.is_agent:
        return "not_staff"
    if not session_key:
        return "signed_out"
    engine = import_module(settings.SESSION_ENGINE)
    session: SessionBase = engine.SessionStore(session_key)
    if not session.exists(session_key):
        return "signed_out"
    if str(session.get(SESSION_KEY)) != str(user.pk):
        return "signed_out"
    # A password change (or an admin's reset) signs out the account's other sessions.
    if not constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return "signed_out"
    if idle_expired(session, now=now):
        session.delete()
        return "idle_timeout"
    if two_factor_applies(user) and not session_is_verified(user=user, session=session):
        return "second_factor_required"
    if active:
        activity_record(session, now=now)
        if session.modified:
            session.save()
    return None


def activity_start(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    """``user_logged_in``: the idle clock starts at sign-in (and the first page after it
    does not have to write the session again)."""
    if getattr(user, "is_agent", False) and hasattr(request, "session"):
        activity_record(request.session, now=time.time())
