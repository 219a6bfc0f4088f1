"""Which macros an agent may use, searched from the reply box."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from macros.models import Macro


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
