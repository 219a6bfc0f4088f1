"""Transports that carry an outbound reply on its channel.

Each channel app registers its transport (email: SMTP, social: the Graph API...).
A transport raises ``DeliveryError`` on failure, marked permanent when retrying
cannot help (an expired token, a closed messaging window).
"""

from __future__ import annotations

from collections.abc import Callable

from tickets.choices import Channel
from tickets.models import OutboundMessage

Transport = Callable[[OutboundMessage], None]

_transports: dict[str, Transport] = {}


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def register_transport(channel: str, transport: Transport) -> None:
    _transports[channel] = transport


def deliver(outbound: OutboundMessage) -> None:
    transport = _transports.get(outbound.channel)
    if transport is None:
        raise DeliveryError(
            f"Replies on {Channel(outbound.channel).label} cannot be sent yet: "
            "no transport is configured for this channel.",
            permanent=True,
        )
    transport(outbound)


def portal_transport(outbound: OutboundMessage) -> None:
    """Contact-form and API conversations are read under "My requests": storing the
    reply is the delivery, so there is nothing to send."""


def register_builtin_transports() -> None:
    register_transport(Channel.WEB_FORM, portal_transport)
    register_transport(Channel.API, portal_transport)
