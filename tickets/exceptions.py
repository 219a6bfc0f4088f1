"""Errors a ticket operation raises; each carries a stable code for API clients."""

from __future__ import annotations

from core.errors import UserError


class TicketClosed(UserError):
    code = "ticket_closed"


class InvalidCategory(UserError):
    code = "invalid_category"


class InvalidOrderNumber(UserError):
    code = "invalid_order_number"


class UnknownOrder(UserError):
    code = "unknown_order"


class OrderCheckUnavailable(UserError):
    """The marketplace cannot be asked now, so a given order number cannot be checked."""

    code = "order_check_unavailable"


class AttachmentRejected(UserError):
    code = "attachment_rejected"


class InvalidAssignee(UserError):
    code = "invalid_assignee"


class InvalidTeam(UserError):
    code = "invalid_team"


class EmptyMessage(UserError):
    code = "empty_message"
