"""The inbox's per-row marks, read for the page of tickets in three queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import template
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.models import User
from policy.loader import get_policy
from sla.models import Escalation, EscalationStatus
from tickets.choices import Direction, MessageKind
from tickets.models import Message, Ticket
from workload.models import TicketSeen

register = template.Library()

# Reply due this soon is shown amber; past due, red.
WARN_WITHIN = dt.timedelta(hours=1)


@dataclass(frozen=True)
class RowMarks:
    escalated: bool
    customer_wrote: bool
    due: dt.datetime | None
    due_state: str  # "overdue", "warning" or ""


@register.simple_tag
def inbox_marks(tickets: list[Ticket], agent: User) -> dict[int, RowMarks]:
    ids = [t.pk for t in tickets]
    if not ids:
        return {}
    escalated = set(
        Escalation.objects.filter(ticket_id__in=ids, status=EscalationStatus.OPEN).values_list(
            "ticket_id", flat=True
        )
    )
    last_in = dict(
        Message.objects.filter(
            ticket_id__in=ids, direction=Direction.INBOUND, kind=MessageKind.REPLY
        )
        .values("ticket_id")
        .annotate(last=Max("created_at"))
        .values_list("ticket_id", "last")
    )
    seen = dict(
        TicketSeen.objects.filter(agent=agent, ticket_id__in=ids).values_list(
            "ticket_id", "seen_at"
        )
    )
    now = timezone.now()
    marks = {}
    for ticket in tickets:
        due = ticket.next_reply_due_at if ticket.first_replied_at else ticket.first_reply_due_at
        state = ""
        if due is not None and ticket.status in ("new", "open"):
            state = "overdue" if due < now else "warning" if due < now + WARN_WITHIN else ""
        wrote = last_in.get(ticket.pk)
        looked = seen.get(ticket.pk)
        marks[ticket.pk] = RowMarks(
            escalated=ticket.pk in escalated,
            customer_wrote=wrote is not None and (looked is None or wrote > looked),
            due=due,
            due_state=state,
        )
    return marks


@register.filter
def marks_for(marks: dict[int, RowMarks], ticket: Ticket) -> RowMarks | None:
    return marks.get(ticket.pk)


@register.simple_tag
def short_time(value: dt.datetime | None) -> str:
    """``6 Dec 21:53`` in the team's time zone, for dense tables (the page footer names
    the zone; the full time is in the title)."""
    if value is None:
        return ""
    local = value.astimezone(get_policy().calendar.zone)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        date_format(local, "D j M Y, H:i T"),
        date_format(local, "j M H:i"),
    )


@register.simple_tag
def assignable_agent_options() -> SafeString:
    """The bulk bar's ``<option>`` per agent, built in one pass: a loop in the template
    over hundreds of agents cost more than the rest of the table."""
    from tickets.selectors import agents_for_assignment

    rows = agents_for_assignment().values_list(
        "pk", "display_name", "first_name", "last_name", "username"
    )
    # As User.__str__ names them.
    return format_html_join(
        "",
        '<option value="{}">{}</option>',
        (
            (pk, display or f"{first} {last}".strip() or username)
            for pk, display, first, last, username in rows
        ),
    )
