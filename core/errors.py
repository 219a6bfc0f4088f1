"""The error every service raises for a person to read.

Below every app so that any app may raise or catch it without importing another: views
and forms show its message, the API answers it as a problem with its stable ``code``, and
each channel tells the customer. Each app's own refusals subclass it (``tickets.exceptions``,
``conduct.exceptions``, ``disputes.exceptions``, ...).
"""

from __future__ import annotations


class UserError(Exception):
    # "ticket_error" is the code API clients have always been answered for a refusal
    # without a code of its own (it was ``tickets.exceptions.TicketError``).
    code = "ticket_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def is_transient_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not do the work now (a deadlock, a lost
    connection, an outage), not that the item is wrong: the work must be tried again,
    never set aside as a bad item (which loses a customer's message)."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)
