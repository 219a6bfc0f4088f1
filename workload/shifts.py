"""Shifts: an agent at work on tickets, apart from live-chat presence.

A shift starts with the agent's first console request (``ShiftSeenMiddleware``) and is
seen again on every console request and chat desk heartbeat (at most one write a
minute). It ends when the agent signs out, presses "End shift" (after seeing which
tickets will move), or has not been seen for the policy's
``workload.reassign_after_absence``: only then do the agent's unanswered email, form
and social tickets go to a colleague on shift (``workload.services``).

The absence check is one timer task per shift, re-armed from the last time the agent
was seen; a task whose moment the shift no longer holds was superseded and does
nothing, so a late or duplicated run is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from policy.loader import get_policy
from tickets.models import Ticket
from workload.models import Reason, Reassignment, Shift, ShiftEnd

logger = logging.getLogger(__name__)

# A shift's last_seen_at is written at most this often per agent.
SEEN_EVERY = dt.timedelta(seconds=60)

_END_REASONS = {
    ShiftEnd.ENDED: Reason.SHIFT_ENDED,
    ShiftEnd.SIGNED_OUT: Reason.SIGNED_OUT,
    ShiftEnd.ABSENT: Reason.ABSENT,
}


def absence_limit() -> dt.timedelta:
    return get_policy().workload.reassign_after_absence.timedelta


def on_shift_agent_ids(*, now: dt.datetime | None = None) -> set[int]:
    """Agents whose shift is open and who were seen within the absence limit."""
    cutoff = (now or timezone.now()) - absence_limit()
    return set(
        Shift.objects.filter(
            ended_at__isnull=True, last_seen_at__gte=cutoff, agent__is_active=True
        ).values_list("agent_id", flat=True)
    )


def shift_current(*, agent: User) -> Shift | None:
    return Shift.objects.filter(agent=agent, ended_at__isnull=True).first()


def tickets_to_move(*, agent: User) -> QuerySet[Ticket]:
    """What ending the agent's shift would move now: the unanswered email, form and
    social tickets (the customer wrote last). Tickets waiting on the customer, live
    chats and pinned tickets stay."""
    from workload.services import unanswered_tickets

    return unanswered_tickets(agent=agent).select_related("requester")


def _arm(*, shift: Shift, now: dt.datetime) -> None:
    from workload.tasks import shift_absence_check

    due = max(shift.last_seen_at + absence_limit(), now) + dt.timedelta(seconds=1)
    Shift.objects.filter(pk=shift.pk).update(check_due_at=due)
    shift.check_due_at = due
    transaction.on_commit(
        partial(
            shift_absence_check.using(run_after=due).enqueue,
            shift_id=shift.pk,
            expected_due=due.isoformat(),
        )
    )


def shift_seen(*, agent_id: int, start: bool = False, now: dt.datetime | None = None) -> None:
    """The agent is at work now. Refreshes the open shift; with ``start``, opens one
    when there is none (the console does; a chat heartbeat alone does not restart a
    shift the agent ended)."""
    now = now or timezone.now()
    if Shift.objects.filter(agent_id=agent_id, ended_at__isnull=True).update(last_seen_at=now):
        return
    if not start:
        return
    try:
        with transaction.atomic():
            shift = Shift.objects.create(agent_id=agent_id, started_at=now, last_seen_at=now)
            _arm(shift=shift, now=now)
    except IntegrityError:
        return  # another request of the same agent opened it a moment ago


@transaction.atomic
def shift_end(
    *, agent: User, reason: ShiftEnd, now: dt.datetime | None = None
) -> list[Reassignment]:
    """End the agent's open shift and move the tickets that wait for an answer."""
    from workload.services import tickets_reassign_from

    now = now or timezone.now()
    shift = (
        Shift.objects.select_for_update(no_key=True)
        .filter(agent=agent, ended_at__isnull=True)
        .first()
    )
    if shift is None:
        return []
    shift.ended_at = now
    shift.end_reason = reason
    shift.check_due_at = None
    shift.save(update_fields=["ended_at", "end_reason", "check_due_at"])
    moved = tickets_reassign_from(agent=agent, reason=_END_REASONS[reason])
    logger.info("Shift of agent %s ended (%s): %s tickets moved", agent.pk, reason, len(moved))
    return moved


def shift_absence_check(*, shift_id: int, expected_due: str) -> str:
    """The absence timer fires: an agent seen since re-arms it; an agent gone longer
    than the limit has the shift ended for them. Returns what it did."""
    now = timezone.now()
    shift = Shift.objects.select_related("agent").filter(pk=shift_id, ended_at__isnull=True).first()
    if (
        shift is None
        or shift.check_due_at is None
        or shift.check_due_at.isoformat() != expected_due
    ):
        return "superseded"
    if shift.last_seen_at + absence_limit() > now:
        with transaction.atomic():
            _arm(shift=shift, now=now)
        return "present"
    shift_end(agent=shift.agent, reason=ShiftEnd.ABSENT, now=now)
    return "absent"


def ticket_seen(*, agent: User, ticket: Ticket) -> None:
    """The agent opened the ticket now (the inbox's "customer wrote since" marker)."""
    from workload.models import TicketSeen

    # One upsert: ``update_or_create`` locked the row, then updated or inserted it in a
    # transaction of its own, five statements on every ticket page.
    TicketSeen.objects.bulk_create(
        [TicketSeen(agent=agent, ticket=ticket, seen_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["agent", "ticket"],
        update_fields=["seen_at"],
    )
