"""Sending one email for an outbox-like row (an identity challenge, a seller notice) and
recording what happened: sent, failed for good, or a retry scheduled with back-off.

The row has ``status``, ``attempts``, ``last_error``, ``next_attempt_at`` and ``sent_at``;
the caller has claimed this attempt already (a conditional update of ``attempts``), so a
late or doubled task never sends twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import models, transaction
from django.utils import timezone

from tickets.choices import DeliveryStatus

logger = logging.getLogger(__name__)


def email_row_send(
    *,
    row: models.Model,
    email: EmailMessage,
    retry: Callable[[dt.datetime], Any],
    what: str,
) -> DeliveryStatus:
    """Send ``email`` for ``row``. On a failure worth retrying, ``retry(run_after)`` is
    called after the commit (it enqueues the row's delivery task again)."""
    from tickets.services import outbound_backoff

    record: Any = row
    try:
        with get_connection() as connection:
            connection.send_messages([email])
    except (smtplib.SMTPException, OSError) as exc:
        permanent = isinstance(exc, smtplib.SMTPRecipientsRefused)
        record.last_error = str(exc)[:2000]
        if permanent or record.attempts >= settings.IZONIE_OUTBOX_MAX_ATTEMPTS:
            record.status = DeliveryStatus.FAILED
            record.save(update_fields=["status", "last_error"])
        else:
            run_after: dt.datetime = timezone.now() + outbound_backoff(attempts=record.attempts)
            record.next_attempt_at = run_after
            record.save(update_fields=["last_error", "next_attempt_at"])
            transaction.on_commit(lambda: retry(run_after))
        logger.info("%s %s failed: %s", what, record.pk, exc)
        return DeliveryStatus(record.status)
    record.status = DeliveryStatus.SENT
    record.sent_at = timezone.now()
    record.last_error = ""
    record.save(update_fields=["status", "sent_at", "last_error"])
    return DeliveryStatus.SENT
