"""Conduct on the console's ticket page: flags per message, the requester's blocks."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template

from conduct.models import ConductBlock, ConductFlag
from conduct.services import block_active
from tickets.models import Message, Ticket

register = template.Library()


@dataclass
class ConductPanel:
    flags: dict[int, ConductFlag] = field(default_factory=dict)
    blocks: list[ConductBlock] = field(default_factory=list)


@register.simple_tag
def conduct_panel(ticket: Ticket) -> ConductPanel:
    """One query for the ticket's flags, one per channel for active blocks."""
    flags = {flag.message_id: flag for flag in ConductFlag.objects.filter(ticket=ticket)}
    blocks = []
    if ticket.requester.is_customer:
        channels = {ticket.channel, *(flag.channel for flag in flags.values())}
        for channel in sorted(channels):
            block = block_active(customer=ticket.requester, channel=channel)
            if block is not None:
                blocks.append(block)
    return ConductPanel(flags=flags, blocks=blocks)


@register.filter
def flag_for(panel: ConductPanel, message: Message) -> ConductFlag | None:
    return panel.flags.get(message.pk)
