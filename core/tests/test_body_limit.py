"""Request bodies over IZONIE_MAX_REQUEST_BYTES are refused before they are read
(core.body_limit): a huge upload announced by its Content-Length is answered 413 without
sending a byte of it, against the real application under uvicorn on loopback, and a
chunked body that grows past the limit is cut off where it passes it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from chat.tests.conftest import run
from core.body_limit import RequestBodyLimit
from core.tests.net import free_port

TWO_GB = 2 * 1024**3


@pytest.fixture
def server(transactional_db) -> Iterator[tuple[str, int]]:
    from config.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(uv.serve()), daemon=True)
    thread.start()
    for _ in range(200):
        if uv.started:
            break
        time.sleep(0.025)
    yield ("127.0.0.1", port)
    uv.should_exit = True
    thread.join(timeout=5)


def _head_only(address: tuple[str, int], path: str, length: int) -> tuple[bytes, float]:
    """Send only the request head announcing ``length`` bytes; read what comes back."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {length}\r\n\r\n"
            ).encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def test_a_2_gb_upload_is_refused_at_once_without_its_body(server):
    answer, seconds = _head_only(server, "/contact", TWO_GB)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()
    assert b"the largest accepted is 64.0" in body
    # Answered, and the connection closed, without waiting for a body: a server waiting
    # for it would hold the socket until its 5 s timeout. (Under 2 s on an idle machine.)
    assert seconds < 4.5


def test_the_api_gets_a_json_problem(server):
    answer, _ = _head_only(server, "/api/v1/tickets", TWO_GB)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["code"] == "too_large"


def test_a_body_within_the_limit_still_reaches_the_application(server, settings):
    settings.IZONIE_MAX_REQUEST_BYTES = 1000
    with socket.create_connection(server, timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")


class _Reader:
    """An application that reads the whole body, as a parser of uploads does."""

    def __init__(self) -> None:
        self.read = 0
        self.disconnected = False

    async def __call__(self, scope, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                break
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stored"})


def _run_chunked(limit: int, chunk: int, chunks: int | None, settings) -> tuple:
    settings.IZONIE_MAX_REQUEST_BYTES = limit
    sent = {"bytes": 0}
    answers: list[dict] = []

    async def receive() -> dict:
        sent["bytes"] += chunk
        more = chunks is None or sent["bytes"] < chunk * chunks
        return {"type": "http.request", "body": b"x" * chunk, "more_body": more}

    async def send(message: dict) -> None:
        answers.append(message)

    app = _Reader()
    scope = {"type": "http", "method": "POST", "path": "/chat/x", "headers": []}
    # In a thread of its own: Playwright's browser tests keep an event loop running in
    # the main thread for the rest of the session (chat.tests.conftest.run).
    run(RequestBodyLimit(app), scope, receive, send)
    return app, sent["bytes"], answers


def test_a_chunked_body_growing_past_the_limit_is_cut_off(settings):
    # An endless body: only the limit stops it.
    app, sent, answers = _run_chunked(100_000, 16_384, None, settings)
    assert sent <= 100_000 + 16_384  # stopped at the chunk that passed the limit
    assert app.disconnected and app.read <= 100_000
    assert answers[0]["status"] == 413
    assert json.loads(answers[1]["body"])["code"] == "too_large"
    assert len(answers) == 2  # the application's own answer to a cut body is dropped


def test_a_chunked_body_within_the_limit_is_read_whole(settings):
    app, sent, answers = _run_chunked(100_000, 16_384, 5, settings)
    assert app.read == sent == 5 * 16_384
    assert answers[0]["status"] == 200 and answers[1]["body"] == b"stored"
