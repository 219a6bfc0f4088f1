"""REST endpoints for tickets: one module per operation, each with its own In and Out schema.

The operations register themselves on ``router`` when imported below; config/api.py mounts
the router at /api/v1/tickets.
"""

from ninja import Router

router = Router(tags=["tickets"])

from tickets.api import (  # noqa: E402 (the modules decorate functions with ``router``)
    note_create,
    reply_create,
    ticket_create,
    ticket_create_many,
    ticket_detail,
    ticket_list,
    ticket_update,
)

__all__ = [
    "note_create",
    "reply_create",
    "router",
    "ticket_create",
    "ticket_create_many",
    "ticket_detail",
    "ticket_list",
    "ticket_update",
]
