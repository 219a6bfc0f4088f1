"""config.asgi's HTTP application: Django's WSGI handler on a thread pool, with the
server's event loop at hand for the async calls a view makes."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from config.asgi import HttpApplication


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_async_calls_made_by_a_request_run_on_the_servers_event_loop():
    # A channel-layer send from a view must run where the sockets wait for it.
    seen: list[asyncio.AbstractEventLoop] = []

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(async_to_sync(_running_loop)())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    app = HttpApplication(view)

    async def scenario() -> tuple[dict[str, Any], asyncio.AbstractEventLoop]:
        response = await HttpCommunicator(app, "GET", "/").get_response()
        return response, asyncio.get_running_loop()

    # In a thread of its own: after a browser test the main thread has a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        response, server_loop = pool.submit(asyncio.run, scenario()).result()
    assert response["status"] == 200 and response["body"] == b"ok"
    assert seen == [server_loop]
