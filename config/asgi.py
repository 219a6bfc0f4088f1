import os
from typing import Any

from a2wsgi import WSGIMiddleware
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


def http_application(wsgi_app: Any) -> WSGIMiddleware:
    """Django's WSGI handler (or a wrapper of it) as the ASGI app for plain HTTP."""
    return WSGIMiddleware(wsgi_app, workers=settings.IZONIE_HTTP_THREADS)


django_http_app = http_application(get_wsgi_application())

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http_app,
        # Each route checks the Origin header itself (config.routing).
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
