"""The automatic acknowledgement of a new email request: its number and when to expect
our reply (the first-reply deadline of its SLA clock), rate-limited per sender."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format

from core.throttle import Throttled, throttle
from mail.autoreply import auto_reply_refused
from mail.models import AutoAcknowledgement
from mail.outbound import address_verified
from policy.loader import get_policy
from policy.schema import Measure
from tickets.choices import Channel
from tickets.models import Ticket

logger = logging.getLogger(__name__)

# A flood of forged senders is when the limit on new addresses is reached, one withheld
# acknowledgement per mail: the log says so once a minute with the count, not per mail.
WITHHELD_LOG_SECONDS = 60.0


class _WithheldLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.logged_at = float("-inf")

    def one_more(self) -> None:
        with self.lock:
            self.count += 1
            now = time.monotonic()
            if now - self.logged_at < WITHHELD_LOG_SECONDS:
                return
            count, self.count, self.logged_at = self.count, 0, now
        logger.warning(
            "Acknowledgements to new addresses over the limit: %d not sent since the last"
            " such line (logged at most once a minute).",
            count,
        )


_withheld = _WithheldLog()


def _due_text(ticket: Ticket) -> str:
    calendar = get_policy().calendar
    if ticket.first_reply_due_at is None:
        return ""
    local = ticket.first_reply_due_at.astimezone(calendar.zone)
    return f"{date_format(local, 'l j F Y, H:i')} ({calendar.time_zone})"


def _promise(ticket: Ticket) -> str:
    policy = get_policy()
    for target in policy.response_targets:
        if (
            target.measure == Measure.FIRST_REPLY
            and target.published
            and ticket.channel in target.applies_to.channels
        ):
            return target.promise
    return ""


def _new_address_ack_allowed() -> bool:
    """All senders together get at most IZONIE_THROTTLE_NEW_ADDRESS_ACKS acknowledgements
    to addresses without one in the window: forged From: addresses by the thousand would
    otherwise make the support address mail them all."""
    try:
        throttle(
            scope="ack",
            limits=[("IZONIE_THROTTLE_NEW_ADDRESS_ACKS", "all", "to new addresses")],
        )
    except Throttled:
        _withheld.one_more()
        return False
    return True


def acknowledgements_sent_recently(recipients: Iterable[str]) -> dict[str, int]:
    """Acknowledgements sent to each address within the window, in one query: a batch
    of mail counts them once for all its senders instead of once per new ticket."""
    settings = get_policy().channels[Channel.EMAIL].acknowledgement
    counts = dict.fromkeys(recipients, 0)
    if settings is None or not counts:
        return counts
    since = timezone.now() - settings.window.timedelta
    counts.update(
        AutoAcknowledgement.objects.filter(recipient__in=list(counts), created_at__gte=since)
        .values_list("recipient")
        .annotate(n=Count("pk"))
        .values_list("recipient", "n")
    )
    return counts


def acknowledgement_text(*, ticket: Ticket, sent_recently: int | None = None) -> str | None:
    """The acknowledgement a new email ticket gets, or None when it gets none (no
    acknowledgement in the policy, a no-reply address, its quota within the window, the
    limit on new addresses reached); writes nothing: mail intake writes a round's
    acknowledgements together (``tickets.write_path.system_replies_add``) and records
    them (``AutoAcknowledgement``) with the batch.

    Machine mail (auto-replies, bulk, bounces) and our own never open a ticket, so
    they never reach this. ``sent_recently``: how many the address had within the
    window, when the caller has counted already (``acknowledgements_sent_recently``)."""
    settings = get_policy().channels[Channel.EMAIL].acknowledgement
    recipient = ticket.requester.email.lower()
    if settings is None or auto_reply_refused(recipient):
        return None
    if sent_recently is None:
        sent_recently = acknowledgements_sent_recently([recipient])[recipient]
    if sent_recently >= settings.max_per_sender:
        return None
    if sent_recently == 0 and not _new_address_ack_allowed():
        return None
    verified = address_verified(ticket.requester)
    return settings.text.format(
        # The name is the sender's own words (a From: display name, a typed name): not
        # echoed to an address nobody has proven is theirs (mail.outbound.address_verified).
        name=(ticket.requester.first_name or str(ticket.requester)) if verified else "there",
        reference=ticket.reference,
        due=_due_text(ticket) or "as soon as we can",
        promise=_promise(ticket),
    ).strip()
