"""Which pages may open the chat's sockets.

The widget is embedded on other sites (the shop, the mobile app's web view), so the
customer socket accepts this site's own hosts plus the origins listed in
``IZONIE_CHAT_ALLOWED_ORIGINS``, and connections with no ``Origin`` at all: browsers
always send one, so those are native app clients, which prove who they are with the
chat token. The agent console's socket is signed in by cookie, so it accepts only this
site's own hosts (no cross-site socket hijacking).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings


def _own_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


class CustomerOriginValidator(OriginValidator):
    def __init__(self, application: Any):
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return True
        # Read per connection, so a changed setting needs no new router.
        self.allowed_origins = [*_own_hosts(), *settings.IZONIE_CHAT_ALLOWED_ORIGINS]
        return bool(self.validate_origin(parsed_origin))


class ConsoleOriginValidator(OriginValidator):
    def __init__(self, application: Any):
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        self.allowed_origins = _own_hosts()
        return bool(super().valid_origin(parsed_origin))
