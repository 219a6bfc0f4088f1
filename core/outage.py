"""While the database is unreachable, every request is answered ``503 Service
Unavailable`` with ``Retry-After`` instead of a 500 page (docs/operations/recovery.md).

Django's ``handler500`` is called for any exception that escapes a view *or* a middleware
(sessions, authentication and idempotency all touch the database before the view runs),
so this one place sees every outage. JSON for the API and the health endpoint, a small
page for people; neither touches the database or a template that might.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core.resilience import OUTAGE_ERRORS, outage_log

JSON_PREFIXES = ("/api/", "/healthz")

OUTAGE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Back in a moment</title>
<meta http-equiv="refresh" content="{seconds}"></head>
<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">
<h1>Back in a moment</h1>
<p>Izonie Support cannot reach its database right now. Nothing you sent in the last
moment was lost or half-saved: this page tries again by itself in {seconds} seconds.</p>
</body></html>
"""


def outage_response(request: HttpRequest) -> HttpResponse:
    seconds = settings.IZONIE_OUTAGE_RETRY_AFTER_SECONDS
    response: HttpResponse
    if request.path.startswith(JSON_PREFIXES):
        response = JsonResponse(
            {
                "code": "database_unavailable",
                "detail": "The service cannot reach its database right now; nothing was "
                "done. Retry after the number of seconds in Retry-After.",
                "fields": {},
            },
            status=503,
        )
        response["Content-Type"] = "application/json; charset=utf-8"
    else:
        response = HttpResponse(OUTAGE_PAGE.format(seconds=seconds), status=503)
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: 503 for an outage, the plain error page otherwise."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OUTAGE_ERRORS):
        outage_log.failed(exc, who=f"web {request.method} {request.path}")
        return outage_response(request)
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse(
            {"code": "server_error", "detail": "Server error; it was logged.", "fields": {}},
            status=500,
        )
    return defaults.server_error(request)
