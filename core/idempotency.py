"""``Idempotency-Key`` for every unsafe REST request (docs/api.md).

A client that sends a reply and loses the connection before the answer cannot know
whether the reply was stored; retrying without this stored and mailed it twice. With the
header, the request's work and its answer are committed together in one transaction;
a retry with the same key gets the first answer (same status and body, plus
``Idempotent-Replayed: true``), the same key with a different request gets 422, and a
retry while the first is still running waits for it (the unique key is taken inside
the transaction) and then gets its answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.http import problem_response as _plain_problem
from core.models import IdempotentRequest

HEADER = "Idempotency-Key"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/"
MAX_KEY_LENGTH = 255


def _scope(request: HttpRequest) -> str | None:
    """Who the key belongs to, or None when the request names nobody (it will be
    refused by the API's authentication anyway)."""
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return "token:" + hashlib.sha256(authorization.encode()).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def problem_response(
    status: int, code: str, detail: str, fields: dict[str, str] | None = None
) -> HttpResponse:
    """The API's error shape, with the API's content type."""
    response = _plain_problem(status, code, detail, fields)
    response["Content-Type"] = "application/json; charset=utf-8"
    return response


def _replay(record: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _key_reused() -> HttpResponse:
    return problem_response(
        422,
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request; use a new key.",
        {HEADER: "Used before with another method, path or body."},
    )


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method not in UNSAFE_METHODS
            or not request.path.startswith(API_PREFIX)
        ):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return problem_response(
                400,
                "invalid_idempotency_key",
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
                {HEADER: "Invalid."},
            )
        scope = _scope(request)
        if scope is None:
            return self.get_response(request)
        return self._once(request, scope=scope, key=key)

    def _once(self, request: HttpRequest, *, scope: str, key: str) -> HttpResponse:
        fingerprint = _fingerprint(request)
        fresh_since = timezone.now() - dt.timedelta(seconds=settings.IZONIE_IDEMPOTENCY_TTL_SECONDS)
        with transaction.atomic():
            # An expired record frees its key.
            IdempotentRequest.objects.filter(
                scope=scope, key=key, created_at__lt=fresh_since
            ).delete()
            try:
                # Taking the key first makes a concurrent retry wait here until this
                # request commits (or rolls back), then find the answer below.
                with transaction.atomic():
                    record = IdempotentRequest.objects.create(
                        scope=scope,
                        key=key,
                        fingerprint=fingerprint,
                        status=0,
                        content_type="",
                        body=b"",
                        created_at=timezone.now(),
                    )
            except IntegrityError:
                earlier = IdempotentRequest.objects.get(scope=scope, key=key)
                if earlier.fingerprint != fingerprint:
                    return _key_reused()
                return _replay(earlier)
            response = self.get_response(request)
            if response.status_code >= 500 or response.streaming:
                # Nothing to keep: undo the work and the key, so that a retry runs anew.
                transaction.set_rollback(True)
                return response
            record.status = response.status_code
            record.content_type = response.get("Content-Type", "")
            record.body = response.content
            record.save(update_fields=["status", "content_type", "body"])
        return response


def idempotency_purge_expired() -> int:
    """Delete answers older than IZONIE_IDEMPOTENCY_TTL_SECONDS (housekeeping)."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.IZONIE_IDEMPOTENCY_TTL_SECONDS)
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
