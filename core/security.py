"""Start-up checks and helpers for running in production (docs/security/production.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

WITHOUT_KEY_REFUSAL = (
    "DJANGO_SECRET_KEY is not set. With DEBUG off Izonie Support does not start without "
    "it: the key signs sessions, rating links and chat resume tokens, and a known key lets "
    "anyone forge them. Set DJANGO_SECRET_KEY to a long random value kept secret, e.g. "
    "the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))' "
    "(scripts/demo makes one for the demo and keeps it under var/)."
)


def require_secret_key() -> None:
    """Refuse to start a server (web or worker) without a secret key.

    Settings load without one, so that makemigrations, collectstatic and mypy run where no
    secret is available; a process that serves requests or signs links must have it.
    """
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django's own, on reading an empty key: not our message
        key = ""
    if not settings.DEBUG and not key:
        raise ImproperlyConfigured(WITHOUT_KEY_REFUSAL)


def public_url_for(*, host: str, port: int) -> str:
    """The public URL of a server listening on ``host:port`` with nothing in front of it,
    for the links in emails when IZONIE_PUBLIC_URL is not configured."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - listening on all, reached on loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.IZONIE_HTTPS else "http"
    return f"{scheme}://{host}:{port}"
