"""Errors a dispute operation raises; ``UserError`` subclasses, so every view and the API
already show them beside the field they name."""

from core.errors import UserError


class DisputeError(UserError):
    code = "dispute_error"


class DisputeAlreadyOpen(DisputeError):
    code = "dispute_already_open"


class DisputeNotPossible(DisputeError):
    """The ticket has no order, the order is Izonie's own, or the seller is unknown."""

    code = "dispute_not_possible"


class DisputeClosed(DisputeError):
    code = "dispute_closed"


class InvalidOutcome(DisputeError):
    code = "invalid_outcome"
