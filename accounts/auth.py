"""API authentication: bearer tokens for integrations, the session for the browser."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from accounts.models import ApiToken, User

# Writing last_used_at on every call would turn each read into a write.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <key>``; revoked tokens and inactive users are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        row = (
            ApiToken.objects.select_related("user")
            .filter(key=token, revoked=False, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class CsrfFailed(Exception):
    """A signed-in browser sent an unsafe request without the CSRF token."""


class ActiveSessionAuth(SessionAuth):
    """Django's session (with CSRF on unsafe methods), for pages calling the API."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing for CSRF to protect: leave the
        # request unauthenticated (a 401), so a client whose token was revoked is told
        # that, not that a CSRF check failed.
        if not request.user.is_authenticated:
            return None
        try:
            return super()._get_key(request)
        except HttpError as exc:
            raise CsrfFailed from exc

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None
