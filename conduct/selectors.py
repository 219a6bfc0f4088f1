"""Reads for conduct: what the console's ticket page shows of a customer's conduct."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from conduct.models import ConductBlock, ConductFlag
from tickets.models import Ticket

# The requester card lists this many of the customer's latest blocks still in force.
CARD_BLOCKS = 5


@dataclass
class ConductPanel:
    # The ticket's flags (dismissed ones too) by message.
    flags: dict[int, ConductFlag] = field(default_factory=dict)
    # The requester's active block on the ticket's channel and on each flagged one's.
    blocks: list[ConductBlock] = field(default_factory=list)
    # For the requester card: the customer's latest blocks still in force, any channel.
    customer_blocks: list[ConductBlock] = field(default_factory=list)


def in_force_by_channel(blocks: Iterable[ConductBlock]) -> dict[tuple[int, str], ConductBlock]:
    """The first block not lifted of each (customer, channel) among ``blocks``, given
    latest end first and none ended: the block in force there (``block_active``)."""
    in_force: dict[tuple[int, str], ConductBlock] = {}
    for block in blocks:
        if block.lifted_at is None:
            in_force.setdefault((block.customer_id, block.channel), block)
    return in_force


def ticket_conduct(*, ticket: Ticket) -> ConductPanel:
    """Two queries whatever the channels: the ticket's flags, and the requester's blocks
    that have not ended yet (a handful at most), which serve the conduct panel and the
    requester card alike. Only customers are blocked on a channel (as ``block_check``)."""
    flags = {
        flag.message_id: flag
        for flag in ConductFlag.objects.filter(ticket=ticket).select_related("dismissed_by")
    }
    # Every block in force ends later than now, so the latest ones of the customer's
    # blocks are among these (a lifted one is not in force).
    unended = list(
        ConductBlock.objects.filter(
            customer_id=ticket.requester_id, ends_at__gt=timezone.now()
        ).order_by("-ends_at")
    )
    blocks = []
    if ticket.requester.is_customer:
        in_force = in_force_by_channel(unended)
        channels = {ticket.channel, *(flag.channel for flag in flags.values())}
        for channel in sorted(channels):
            block = in_force.get((ticket.requester_id, channel))
            if block is not None:
                blocks.append(block)
    return ConductPanel(
        flags=flags,
        blocks=blocks,
        customer_blocks=[b for b in unended[:CARD_BLOCKS] if b.lifted_at is None],
    )
