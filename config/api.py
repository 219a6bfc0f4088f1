"""REST API v1: one NinjaAPI, a router per domain app, one error shape for everything.

Errors are ``{"code": ..., "detail": ..., "fields": {...}}``: a stable machine code, a
sentence for people and, for input problems, a message per field.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser

from accounts.auth import ActiveSessionAuth, CsrfFailed, TokenAuth
from core.errors import UserError
from tickets.api.schemas import ProblemOut
from tickets.exceptions import TicketClosed
from tickets.selectors import InvalidCursor


class BodyNotJson(ValueError):
    """The request body is not a JSON object (ninja answers it with a 400 HttpError)."""


class JsonObjectParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError) as exc:
            raise BodyNotJson("The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise BodyNotJson("The request body must be a JSON object.")
        return data


IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Any unique string (a UUID) chosen by the client for this request. A "
    "retry with the same key within 24 hours gets the first answer (same status and body, "
    "header Idempotent-Replayed: true) instead of doing the work again; the same key with "
    "a different request gets 422 idempotency_key_reused (core.idempotency).",
}


class IzonieApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Every unsafe operation documents the Idempotency-Key header, which a
        middleware handles for all of them (core.idempotency)."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if method in {"post", "put", "patch", "delete"}:
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        return schema


api = IzonieApi(
    title="Izonie Support API",
    version="1",
    description="Tickets, messages and their changes. Authenticate with "
    "`Authorization: Bearer <token>` (tokens are issued in the admin) or a browser session.",
    urls_namespace="api-v1",
    auth=[TokenAuth(), ActiveSessionAuth()],
    parser=JsonObjectParser(),
)


def problem(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    detail: str,
    fields: dict[str, str] | None = None,
) -> HttpResponse:
    body = ProblemOut(code=code, detail=detail, fields=fields or {})
    return api.create_response(request, body.model_dump(), status=status)


_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
_PARAMETER_NAMES = {"payload", "filters"}


def _field_path(loc: list[Any] | tuple[Any, ...]) -> str:
    # ninja locations read (source, parameter name, field...): ("body", "payload", "body").
    parts = [str(part) for part in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if parts and parts[0] in _PARAMETER_NAMES:
        parts = parts[1:]
    # A missing body altogether is reported on "request", not on an internal name.
    return ".".join(parts) or "request"


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        fields.setdefault(_field_path(error.get("loc", ())), str(error.get("msg", "invalid")))
    return problem(
        request,
        status=422,
        code="invalid_input",
        detail="Some fields are missing or invalid.",
        fields=fields,
    )


@api.exception_handler(UserError)
def on_ticket_error(request: HttpRequest, exc: UserError) -> HttpResponse:
    status = 409 if isinstance(exc, TicketClosed) else 422
    fields = {exc.field: exc.message} if exc.field else None
    return problem(request, status=status, code=exc.code, detail=exc.message, fields=fields)


@api.exception_handler(InvalidCursor)
def on_invalid_cursor(request: HttpRequest, exc: InvalidCursor) -> HttpResponse:
    return problem(
        request, status=400, code="invalid_cursor", detail=str(exc), fields={"cursor": str(exc)}
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, status=404, code="not_found", detail="Not found.")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(
        request,
        status=401,
        code="unauthenticated",
        detail="Sign in, or send a valid API token as 'Authorization: Bearer ...'.",
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(AuthorizationError)
def on_forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return problem(request, status=403, code="forbidden", detail=str(exc.message))


@api.exception_handler(CsrfFailed)
def on_csrf_failed(request: HttpRequest, exc: CsrfFailed) -> HttpResponse:
    return problem(
        request,
        status=403,
        code="csrf_failed",
        detail="Send the CSRF token in the X-CSRFToken header, or use an API token.",
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, BodyNotJson):
        detail = f"{exc.__cause__} Send JSON with 'Content-Type: application/json'."
        return problem(request, status=400, code="invalid_json", detail=detail)
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    return problem(
        request,
        status=exc.status_code,
        code=codes.get(exc.status_code, "error"),
        detail=str(exc.message),
    )


api.add_router("/tickets", "tickets.api.router")
api.add_router("/tickets", "feedback.api.router")
