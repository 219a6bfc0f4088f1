import asyncio
import os
from typing import Any

from a2wsgi import WSGIMiddleware
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Plain HTTP is served by Django's WSGI handler on a fixed pool of threads, not by its ASGI
# handler. Every view here is synchronous, and the ASGI handler runs each request's sync
# code on a thread of its own, made for that request, with a new database connection, plus
# thread hops for every sync-only middleware: on this 2-core machine /healthz answered
# 147 requests/s that way against 502 (SQLite) and 1,541 (PostgreSQL) on the pool, and
# PostgreSQL ran out of connections under load ("too many clients") because each
# request's thread left one behind. WebSockets stay with Channels below.


class HttpApplication:
    """Django's WSGI handler (or a wrapper of it) as the ASGI app for plain HTTP.

    While a request is handled, ``async_to_sync`` calls (channel-layer sends: the chat
    relay, the consoles' change hints) run on the server's event loop, as they did under
    Django's ASGI handler: without that each call made an event loop of its own, and a
    message put on the in-memory layer from that loop did not wake the socket waiting for
    it on the server's loop.
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.django = wsgi_app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wsgi = WSGIMiddleware(self._in_pool_thread, workers=settings.IZONIE_HTTP_THREADS)
        self.executor = self.wsgi.executor

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        await self.wsgi(scope, receive, send)

    def _in_pool_thread(self, environ: Any, start_response: Any) -> Any:
        local = SyncToAsync.threadlocal
        local.main_event_loop = self.loop
        local.main_event_loop_pid = os.getpid()
        return self.django(environ, start_response)


from core.security import require_secret_key  # noqa: E402

# Every server loads this module: none starts without a secret key (DEBUG off).
require_secret_key()
django_http_app = HttpApplication(get_wsgi_application())

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core.body_limit import RequestBodyLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies over IZONIE_MAX_REQUEST_BYTES are refused before they are read: uvicorn
        # has no such limit, and Django's apply only once the body is spooled.
        "http": RequestBodyLimit(django_http_app),
        # Each route checks the Origin header itself (config.routing).
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)

from core.startup import freeze_startup_objects  # noqa: E402

freeze_startup_objects()
