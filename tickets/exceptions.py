"""Errors a ticket operation raises; each carries a stable code for API clients."""

from __future__ import annotations


class TicketError(Exception):
    code = "ticket_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class TicketClosed(TicketError):
    code = "ticket_closed"


class InvalidCategory(TicketError):
    code = "invalid_category"


class InvalidOrderNumber(TicketError):
    code = "invalid_order_number"


class UnknownOrder(TicketError):
    code = "unknown_order"


class OrderCheckUnavailable(TicketError):
    """The marketplace cannot be asked now, so a given order number cannot be checked."""

    code = "order_check_unavailable"


class AttachmentRejected(TicketError):
    code = "attachment_rejected"


class InvalidAssignee(TicketError):
    code = "invalid_assignee"


class InvalidTeam(TicketError):
    code = "invalid_team"


class EmptyMessage(TicketError):
    code = "empty_message"
