"""Which macros an agent may use, searched from the reply box."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from macros.models import Macro
from macros.placeholders import render_with, ticket_facts
from tickets.models import Ticket


def macros_for(*, agent: User, query: str = "", limit: int = 20) -> QuerySet[Macro]:
    """The team's shared macros and the agent's own, most used first; ``query`` matches
    words of the title or the text."""
    macros = Macro.objects.filter(Q(owner__isnull=True) | Q(owner=agent))
    for word in query.split()[:5]:
        macros = macros.filter(Q(title__icontains=word) | Q(body__icontains=word))
    return macros.order_by("-uses", "title")[:limit]


def macro_get_for(*, agent: User, macro_id: int) -> Macro | None:
    return Macro.objects.filter(Q(owner__isnull=True) | Q(owner=agent), pk=macro_id).first()


def macro_can_edit(*, user: User, macro: Macro) -> bool:
    """Supervisors manage the shared macros; everyone manages their own."""
    return macro.owner_id == user.pk if macro.owner_id else user.is_supervisor


def macros_filled_for(
    *, agent: User, ticket: Ticket | None, limit: int = 200
) -> list[dict[str, Any]]:
    """The macros an agent may use with their text filled for ``ticket``, most used
    first: what the chat desk's slash commands and its macro list offer. A placeholder
    with no value (no order number yet) stays visible for the agent to fill in."""
    facts = ticket_facts(ticket=ticket, agent=agent, now=timezone.now())
    return [
        {
            "id": macro.pk,
            "title": macro.title,
            "shortcut": macro.shortcut,
            "shared": macro.shared,
            "body": render_with(text=macro.body, facts=facts),
        }
        for macro in macros_for(agent=agent, limit=limit)
    ]
