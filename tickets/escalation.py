"""The escalation path: "Escalate to a Supervisor" on any channel, answered within 48 h.

A ticket workflow (it moves the ticket to the supervisors, replies, reopens): it lives
with the ticket services and uses the SLA app only for its contact clock
(``sla.services.clock_start`` / ``clock_stop``) and its rows (``sla.models.Escalation``).
"""

from __future__ import annotations

import re
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from notifications.services import notify_supervisors
from policy.loader import get_policy
from policy.schema import Measure
from sla import services as sla
from sla.models import ClockStatus, Escalation, EscalationStatus, SlaClock
from tickets import events, realtime
from tickets.choices import EventKind, TicketStatus
from tickets.models import Ticket

SUPERVISORS_TEAM = "supervisors"


class EscalationError(Exception):
    code = "escalation_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _phrase_pattern() -> re.Pattern[str]:
    phrases = sorted(get_policy().escalation.detect_phrases, key=len, reverse=True)
    alternatives = "|".join(re.escape(phrase).replace(r"\ ", r"\s+") for phrase in phrases)
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


def asks_for_escalation(text: str) -> bool:
    """Whether a customer message asks for a supervisor ("escalate", "manager please"...)."""
    if not text:
        return False
    return bool(_phrase_pattern().search(text[:5000]))


def _contact_deadline_text(escalation: Escalation) -> str:
    zone = get_policy().calendar.zone
    local = escalation.contact_due_at.astimezone(zone)
    return f"{date_format(local, 'l j F Y, H:i')} ({get_policy().calendar.time_zone})"


@transaction.atomic
def escalation_request(
    *, ticket: Ticket, requested_by: User | None, channel: str, reason: str = ""
) -> tuple[Escalation, bool]:
    """Escalate the ticket to the supervisors. Returns (escalation, created).

    A second request while one is open is acknowledged and returns the open one. A
    resolved or closed ticket is reopened: the customer says it is not resolved.
    """
    from tickets import services as ticket_services

    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    existing = Escalation.objects.filter(ticket=ticket, status=EscalationStatus.OPEN).first()
    if existing is not None:
        return existing, False
    policy = get_policy()
    now = timezone.now()
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        with events.acting_rule("escalation"):
            ticket_services.set_status(ticket=ticket, actor=requested_by, status=TicketStatus.OPEN)
    targets = [t for t in policy.response_targets if t.measure == Measure.ESCALATION_CONTACT]
    clock = sla.clock_start(ticket=ticket, target=targets[0], at=now) if targets else None
    due = (
        clock.due_at
        if clock is not None and clock.due_at
        else now + policy.escalation.contact_within.timedelta
    )
    escalation = Escalation.objects.create(
        ticket=ticket,
        requested_by=requested_by,
        channel=channel,
        reason=reason[:2000],
        contact_due_at=due,
    )
    with events.acting_rule("escalation"):
        ticket_services._set_team(ticket=ticket, actor=requested_by, team=SUPERVISORS_TEAM)
    events.field_changed(
        ticket=ticket,
        kind=EventKind.ESCALATED,
        actor=requested_by,
        old=None,
        new={"escalation_id": escalation.pk, "channel": channel, "contact_due_at": due.isoformat()},
    )
    ticket_services.ticket_system_reply(
        ticket=ticket,
        body=(
            f"Your request {ticket.reference} has been escalated to a supervisor. "
            f"{policy.escalation.reviewer} will review your case and contact you within "
            f"{policy.escalation.contact_within}, by {_contact_deadline_text(escalation)}."
            # The customer's reason, shown back in the thread for them and the agents.
            + (f"\n\nYour reason: “{escalation.reason.strip()}”" if reason.strip() else "")
        ),
    )
    notify_supervisors(
        ticket=ticket,
        kind="escalation",
        text=f"{ticket.reference} escalated: contact the customer by "
        f"{_contact_deadline_text(escalation)}.",
    )
    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket.pk))
    return escalation, True


@transaction.atomic
def escalation_record_contact(
    *, escalation: Escalation, supervisor: User, summary: str, outcome: str = ""
) -> Escalation:
    """A supervisor contacted the customer: the 48-hour promise is kept (or late)."""
    if not supervisor.is_supervisor:
        raise EscalationError("Only supervisors can resolve escalations.")
    if not summary.strip():
        raise EscalationError("Say how and when you contacted the customer.")
    escalation = Escalation.objects.select_for_update(no_key=True).get(pk=escalation.pk)
    if escalation.status == EscalationStatus.CONTACTED:
        return escalation
    now = timezone.now()
    escalation.status = EscalationStatus.CONTACTED
    escalation.contacted_at = now
    escalation.contacted_by = supervisor
    escalation.contact_summary = summary.strip()
    escalation.outcome = outcome.strip()
    escalation.save()
    for clock in SlaClock.objects.filter(
        ticket_id=escalation.ticket_id,
        measure=Measure.ESCALATION_CONTACT,
        status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED],
    ).select_related("ticket"):
        sla.clock_stop(clock=clock, at=now)
    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=escalation.ticket_id))
    return escalation
