"""The widget on other sites: which origins may open the sockets and call the HTTP
endpoints, and that the agent console's socket stays same-site."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from accounts.tests.factories import AgentFactory
from chat.tests.conftest import FRAME_WAIT_SECONDS, run, session_cookie, start_frame

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.izonie.com"


@pytest.fixture(autouse=True)
def _shop_allowed(settings):
    settings.IZONIE_CHAT_ALLOWED_ORIGINS = [SHOP]
    settings.CORS_ALLOWED_ORIGINS = [SHOP]


def _connects(path: str, origin: bytes | None, cookie: bytes | None = None) -> bool:
    from config.asgi import application

    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))

    async def scenario() -> bool:
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await comm.connect(timeout=FRAME_WAIT_SECONDS)
        if connected:
            await comm.disconnect()
        return connected

    return bool(run(scenario))


def test_the_customer_socket_accepts_listed_sites_own_hosts_and_native_apps(clock):
    assert _connects("/ws/chat/", SHOP.encode())
    assert _connects("/ws/chat/", b"http://127.0.0.1:8000")
    assert _connects("/ws/chat/", None)  # a native app's WebSocket client sends no Origin


def test_the_customer_socket_refuses_an_unlisted_site(clock):
    assert not _connects("/ws/chat/", b"https://evil.example")
    assert not _connects("/ws/chat/", b"http://shop.izonie.com")  # scheme must match too


def test_the_console_socket_refuses_other_sites_even_listed_ones(clock):
    cookie = session_cookie(AgentFactory())
    assert _connects("/ws/console/chat/", b"http://127.0.0.1:8000", cookie)
    assert not _connects("/ws/console/chat/", SHOP.encode(), cookie)
    assert not _connects("/ws/console/chat/", None, cookie)


def test_a_listed_site_gets_cors_headers_for_the_widget_endpoints(client, clock):
    preflight = client.options(
        "/chat/sessions/6f1c2d4e-0000-4000-8000-000000000000/uploads",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-chat-token",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    assert "x-chat-token" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight

    status = client.get("/chat/status", HTTP_ORIGIN=SHOP)
    assert status.status_code == 200 and status["Access-Control-Allow-Origin"] == SHOP


def test_no_cors_headers_for_unlisted_sites_or_other_pages(client, clock):
    assert "Access-Control-Allow-Origin" not in client.get(
        "/chat/status", HTTP_ORIGIN="https://evil.example"
    )
    # The console and the API are same-site only, whoever asks.
    assert "Access-Control-Allow-Origin" not in client.get("/console/", HTTP_ORIGIN=SHOP)
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/tickets", HTTP_ORIGIN=SHOP)


def test_a_chat_started_from_a_listed_site_works(clock, online_agent):
    online_agent()
    from config.asgi import application

    async def scenario():
        comm = WebsocketCommunicator(
            application, "/ws/chat/", headers=[(b"host", b"127.0.0.1"), (b"origin", SHOP.encode())]
        )
        assert (await comm.connect(timeout=FRAME_WAIT_SECONDS))[0]
        await comm.send_json_to(start_frame())
        kinds = [
            (await comm.receive_json_from(timeout=FRAME_WAIT_SECONDS))["type"] for _ in range(2)
        ]
        await comm.disconnect()
        return kinds

    assert "welcome" in run(scenario)
