"""Refusing a request body that is too big before anyone reads it.

Django checks its own limits only while it parses a body, after the server has
accepted it and the upload handlers have spooled it to disk: a 2 GB POST to the contact
form filled a temporary file before being refused. Uvicorn has no body-size setting, so
the limit is this ASGI wrapper around the HTTP application (config.asgi):

- a ``Content-Length`` above ``IZONIE_MAX_REQUEST_BYTES`` is answered 413 at once,
  before a byte of the body is read (the client, if it waits for ``100 Continue``,
  never sends it);
- a body of undeclared size (chunked) is counted as the application reads it; past the
  limit the application is told the client went away and the client gets the 413.

The answer is readable: a JSON problem for the API and the chat widget's endpoints, a
short page otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

_JSON_PREFIXES = ("/api/", "/chat/", "/social/", "/mail/")


def _declared_length(scope: MutableMapping[str, Any]) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _answer(path: str, limit: int) -> tuple[bytes, bytes]:
    detail = f"The request is too large: the largest accepted is {filesizeformat(limit)}."
    if path.startswith(_JSON_PREFIXES):
        body = {"code": "too_large", "detail": detail, "fields": {}}
        return json.dumps(body).encode(), b"application/json"
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Too large</title>"
        f"<h1>Too large</h1><p>{detail} Send smaller files, or fewer at once.</p></html>"
    )
    return page.encode(), b"text/html; charset=utf-8"


async def _refuse(scope: MutableMapping[str, Any], send: Send, limit: int) -> None:
    body, content_type = _answer(str(scope.get("path", "")), limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.IZONIE_MAX_REQUEST_BYTES
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and message["type"].startswith("http.response"):
                return  # the client has its 413; what the app makes of a cut body is moot
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)
