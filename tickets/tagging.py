"""Tags on tickets: added by agents (one by one or in bulk) and by macros."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from tickets import events, services
from tickets.models import Tag, Ticket

TAG_MAX = 50


def tag_names(raw: str) -> list[str]:
    """``"Refund, follow up"`` as the tags it names: ``refund``, ``follow-up``."""
    names = []
    for part in raw.split(","):
        name = slugify(part.strip())[:TAG_MAX]
        if name and name not in names:
            names.append(name)
    return names


@transaction.atomic
def ticket_tags_add(
    *, tickets: Iterable[Ticket], actor: User | None, names: list[str]
) -> list[Tag]:
    """Add the tags to each ticket (those it has stay), each addition a line in the
    ticket's history; the list moves them up. ``actor`` None: the system did it."""
    tags = [Tag.objects.get_or_create(name=name)[0] for name in names]
    if not tags:
        return []
    for ticket in tickets:
        had = set(ticket.tags.values_list("name", flat=True))
        added = [tag.name for tag in tags if tag.name not in had]
        if not added:
            continue
        ticket.tags.add(*tags)
        events.tags_changed(ticket=ticket, actor=actor, added=added)
        services.ticket_touched(ticket=ticket)
    return tags


@transaction.atomic
def ticket_tag_remove(*, ticket: Ticket, actor: User, name: str) -> bool:
    tag = ticket.tags.filter(name=name).first()
    if tag is None:
        return False
    ticket.tags.remove(tag)
    events.tags_changed(ticket=ticket, actor=actor, removed=[tag.name])
    services.ticket_touched(ticket=ticket)
    return True
