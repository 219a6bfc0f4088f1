"""Conduct on the console's ticket page: flags per message, the requester's blocks."""

from __future__ import annotations

from django import template

from conduct.models import ConductFlag
from conduct.selectors import ConductPanel, ticket_conduct
from tickets.models import Message, Ticket

register = template.Library()


@register.simple_tag
def conduct_panel(ticket: Ticket) -> ConductPanel:
    return ticket_conduct(ticket=ticket)


@register.filter
def flag_for(panel: ConductPanel, message: Message) -> ConductFlag | None:
    return panel.flags.get(message.pk)
