"""Live-chat test helpers: a clock inside business hours, agents online, sockets."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts.tests.factories import AgentFactory
from chat import availability
from chat.models import AgentPresence, Presence

LAGOS = ZoneInfo("Africa/Lagos")
# A Monday, mid-morning in Lagos: live chat is open (Mon–Sat 08:00–20:00).
OPEN_MOMENT = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LAGOS)
# The same Monday at 21:30: closed until Tuesday 08:00.
CLOSED_MOMENT = dt.datetime(2026, 11, 23, 21, 30, tzinfo=LAGOS)


@pytest.fixture(autouse=True)
def _memory_layer(settings):
    from chat.availability import forget_pulse
    from chat.selectors import forget_shared_queue

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chat.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    # The queue and agents online are shared for 0.2 s within a process: a test that
    # starts within that time of the last one would read the last one's agents.
    forget_shared_queue()
    forget_pulse()
    yield
    forget_shared_queue()
    forget_pulse()
    channel_layers.backends.clear()


@pytest.fixture
def clock(monkeypatch):
    """Set the moment chat availability is judged at."""

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setattr(availability, "current_time", lambda: moment)

    set_to(OPEN_MOMENT)
    return set_to


@pytest.fixture
def online_agent(db):
    def make(**presence: Any):
        agent = AgentFactory()
        AgentPresence.objects.create(
            agent=agent,
            status=Presence.ONLINE,
            last_seen_at=dt.datetime.now(dt.UTC),
            **presence,
        )
        return agent

    return make


def client_id() -> str:
    return uuid.uuid4().hex


def start_frame(**overrides: Any) -> dict[str, Any]:
    frame = {
        "type": "start",
        "name": "Ada Obi",
        "email": "ada@example.com",
        "category": "order_status",
        "text": "Where is my order?",
        "client_id": client_id(),
    }
    frame.update(overrides)
    return frame


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


# How long a test waits for a frame it expects. The wait ends as soon as the frame arrives;
# this bound only decides when a frame that never comes fails the test, so it is generous:
# on a busy machine (CI beside other work) 3 s was once not enough for a frame that came.
FRAME_WAIT_SECONDS = 30.0


class Socket:
    """A WebSocket client against the real ASGI application (routing, auth, origin)."""

    def __init__(self, path: str, *, cookie: bytes | None = None):
        from config.asgi import application

        headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.seen: list[dict[str, Any]] = []

    async def open(self) -> None:
        # asgiref's default is 1 s, which a busy CI machine missed (the session look-up
        # and the consumer's first queries in that second) and failed the test.
        connected, _ = await self.comm.connect(timeout=FRAME_WAIT_SECONDS)
        assert connected

    async def send(self, frame: dict[str, Any]) -> None:
        await self.comm.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def recv(self, timeout: float = FRAME_WAIT_SECONDS) -> dict[str, Any]:
        output = await self.comm.receive_output(timeout)
        if output["type"] == "websocket.close":
            return {"type": "__closed__", "code": output.get("code")}
        frame = json.loads(output["text"])
        self.seen.append(frame)
        return frame

    async def until(
        self, kind: str, timeout: float = FRAME_WAIT_SECONDS, **match: Any
    ) -> dict[str, Any]:
        """The next frame of ``kind`` (and matching fields), skipping others."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            if frame["type"] == "__closed__":
                raise AssertionError(f"socket closed waiting for {kind}: {frame}")

    async def closed_with(self, timeout: float = FRAME_WAIT_SECONDS) -> int | None:
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == "__closed__":
                return frame["code"]

    async def nothing_more(self) -> bool:
        return await self.comm.receive_nothing(timeout=0.3)

    async def close(self) -> None:
        await self.comm.disconnect()


class AsgiServer:
    def __init__(self, url: str):
        self.url = url


@pytest.fixture
def asgi_server(transactional_db):
    """The real ASGI application (HTTP, static files and WebSockets) served by uvicorn
    in a thread of this process, against the test database: the live server pytest-django
    offers speaks WSGI only, so it cannot carry the chat's sockets."""
    import asyncio
    import socket

    import uvicorn
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    from config.asgi import HttpApplication
    from config.routing import websocket_urlpatterns

    # As config.asgi serves it, with static files from the apps (nothing is collected).
    http = HttpApplication(StaticFilesHandler(get_wsgi_application()))
    app = ProtocolTypeRouter(
        {
            "http": http,
            "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
        }
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.025)
    yield AsgiServer(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=5)
    _close_thread_connections(http.executor)


def _close_thread_connections(executor) -> None:
    """Close the database connection each HTTP thread keeps, then stop the threads, so no
    test leaves connections open behind it."""
    from django.db import connections

    from chat.db import on_each_thread

    on_each_thread(executor, connections.close_all, threads=len(executor._threads))
    executor.shutdown(wait=True)


def run(coro_fn, *args: Any) -> Any:
    """Run an async scenario to completion in its own thread and event loop.

    Playwright's sync API keeps an event loop running in the main thread for the
    whole session, so neither ``asyncio.run`` nor ``async_to_sync`` can be used there.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _settled(coro_fn(*args))).result()


async def _settled(scenario: Any) -> Any:
    """Run ``scenario``, then let what its sockets started finish before the loop
    closes: a consumer's database call may still be running on its thread when the
    scenario returns, and the frames it commits are handed to this loop (chat/relay.py).
    A loop closed under them drops those frames (the database keeps the truth) and
    asyncio logs the never-started task as an error."""
    import asyncio

    from chat import relay

    try:
        return await scenario
    finally:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _wait_for_chat_db_threads)
        for _ in range(500):
            outbox = relay._outboxes.get(loop)
            if outbox is None or not (outbox.sending or outbox.batches):
                break
            await asyncio.sleep(0.01)


def _wait_for_chat_db_threads() -> None:
    """Return once every call queued on the chat's database threads has finished: each
    thread runs one no-op after its queue, and the barrier holds them until all have."""
    from asgiref.sync import SyncToAsync

    from chat import db

    SyncToAsync.single_thread_executor.submit(lambda: None).result(timeout=10)
    pool = db._pool
    if pool is not None:
        db.on_each_thread(pool, lambda: None, threads=pool._max_workers)
