"""Placeholders in a macro's text, filled from the ticket, the agent and the policy.

``{{ customer.first_name }}``, ``{{ order.number }}``, ``{{ today }}`` come from the
ticket; ``{{ policy.… }}`` are the same policy facts the Help Center's articles name
(``helpcenter.placeholders``), so a macro never types a response time. A name with no
value (a ticket without an order number) is left visible for the agent to fill in.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from core.templatetags.izonie import category_name, team_name
from helpcenter.placeholders import policy_facts
from policy.loader import get_policy
from tickets.models import Ticket

# Linear time: a fixed prefix, one bounded character class, no nesting.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z0-9_.]{1,80})\s*\}\}")

# The names an agent can use besides the policy's facts, with what each gives.
TICKET_PLACEHOLDERS = {
    "customer.first_name": "the customer's first name",
    "customer.name": "the customer's full name",
    "ticket.reference": "the request's reference (IZS-…)",
    "ticket.subject": "the request's subject",
    "ticket.category": "the request's category",
    "ticket.team": "the team handling it",
    "order.number": "the order number on the request",
    "agent.first_name": "your first name",
    "agent.name": "your name",
    "today": "today's date",
    "return.deadline": "the last day of the return window, from today",
}


def _first_name(user: User) -> str:
    name = user.first_name or str(user)
    return name.split()[0] if name.strip() else ""


def ticket_facts(*, ticket: Ticket | None, agent: User, now: dt.datetime) -> dict[str, str]:
    policy = get_policy()
    local = now.astimezone(policy.calendar.zone)
    facts = {f"policy.{name}": value for name, value in policy_facts(policy).items()}
    facts.update(
        {
            "agent.first_name": _first_name(agent),
            "agent.name": str(agent),
            "today": date_format(local, "j F Y"),
            "return.deadline": date_format(local + policy.returns.window.timedelta, "j F Y"),
        }
    )
    if ticket is not None:
        facts.update(
            {
                "customer.first_name": _first_name(ticket.requester),
                "customer.name": str(ticket.requester),
                "ticket.reference": ticket.reference,
                "ticket.subject": ticket.subject,
                "ticket.category": category_name(ticket.category),
                "ticket.team": team_name(ticket.team),
            }
        )
        # The number the customer gave is said back to them even before their address
        # is verified: it is their own words, not a look-up.
        number = ticket.order_number or ticket.unverified_order_number
        if number:
            facts["order.number"] = number
    return facts


def macro_render(
    *, text: str, ticket: Ticket | None, agent: User, now: dt.datetime | None = None
) -> str:
    return render_with(
        text=text, facts=ticket_facts(ticket=ticket, agent=agent, now=now or timezone.now())
    )


def render_with(*, text: str, facts: dict[str, str]) -> str:
    """``text`` with each known placeholder filled; facts computed once for many texts."""

    def replace(match: re.Match[str]) -> str:
        return facts.get(match.group(1), match.group(0))

    return PLACEHOLDER_RE.sub(replace, text)


def unknown_placeholders(text: str) -> list[str]:
    known = set(TICKET_PLACEHOLDERS) | {f"policy.{name}" for name in policy_facts(get_policy())}
    return sorted({name for name in PLACEHOLDER_RE.findall(text) if name not in known})
