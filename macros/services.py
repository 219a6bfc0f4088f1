"""Writes for macros: manage them, and apply a macro's changes to a ticket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from accounts.models import User
from core.errors import UserError
from macros.models import Macro
from macros.placeholders import unknown_placeholders
from macros.selectors import macro_can_edit
from policy.loader import get_policy
from tickets import services as ticket_services
from tickets.attachments import CheckedUpload
from tickets.models import Message, Ticket
from tickets.tagging import tag_names, ticket_tags_add


class MacroError(UserError):
    code = "invalid_macro"


def _check(*, body: str, set_category: str, set_team: str) -> None:
    unknown = unknown_placeholders(body)
    if unknown:
        raise MacroError(
            "Unknown placeholder: " + ", ".join("{{ " + n + " }}" for n in unknown), field="body"
        )
    policy = get_policy()
    if set_category and set_category not in policy.category_keys:
        raise MacroError(f"{set_category!r} is not a category.", field="set_category")
    if set_team and policy.team(set_team) is None:
        raise MacroError(f"{set_team!r} is not a team.", field="set_team")


@transaction.atomic
def macro_save(*, user: User, macro: Macro | None = None, shared: bool, **fields: Any) -> Macro:
    """Create (``macro`` None) or change a macro. Only supervisors make shared ones."""
    if shared and not user.is_supervisor:
        raise MacroError("Only supervisors manage the team's shared macros.")
    if macro is not None and not macro_can_edit(user=user, macro=macro):
        raise MacroError("You cannot change this macro.")
    _check(
        body=fields.get("body", ""),
        set_category=fields.get("set_category", ""),
        set_team=fields.get("set_team", ""),
    )
    macro = macro or Macro(created_by=user)
    for name, value in fields.items():
        setattr(macro, name, value)
    macro.owner = None if shared else user
    if not macro.shortcut:
        macro.shortcut = slugify(macro.title)[:40]
    macro.full_clean()
    macro.save()
    return macro


def macro_delete(*, user: User, macro: Macro) -> None:
    if not macro_can_edit(user=user, macro=macro):
        raise MacroError("You cannot delete this macro.")
    macro.delete()


def macro_used(*, agent: User, macro_id: int) -> bool:
    """A macro the agent may use was sent in a chat: counted, so the reply box and the
    desk list the most used first. The chat applies none of its ticket changes."""
    from macros.selectors import macro_get_for

    macro = macro_get_for(agent=agent, macro_id=macro_id)
    if macro is None:
        return False
    Macro.objects.filter(pk=macro.pk).update(uses=F("uses") + 1)
    return True


@transaction.atomic
def macro_apply(*, macro: Macro, ticket: Ticket, actor: User) -> Ticket:
    """The agent sent a reply made from ``macro``: apply its changes, count the use.

    The status is applied by the reply itself (the reply box's "Then set status"
    takes the macro's), so it is not repeated here."""
    Macro.objects.filter(pk=macro.pk).update(uses=F("uses") + 1)
    if macro.set_priority or macro.set_category or macro.set_team:
        ticket = ticket_services.ticket_update(
            ticket=ticket,
            actor=actor,
            priority=macro.set_priority or None,
            category=macro.set_category or None,
            team=macro.set_team or None,
        )
    names = macro.tag_names
    if names:
        # As the ticket page's tag box does: each tag added is a line in the history.
        ticket_tags_add(tickets=[ticket], actor=actor, names=tag_names(",".join(names)))
    return ticket


@transaction.atomic
def macro_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    uploads: Sequence[CheckedUpload],
    status: str | None,
    macro_id: str = "",
) -> Message:
    """Send a reply and, when it was made from a macro the author may use, apply the
    macro's changes in the same transaction."""
    from macros.selectors import macro_get_for

    message = ticket_services.ticket_reply(
        ticket=ticket, author=author, body=body, uploads=uploads, status=status
    )
    macro = macro_get_for(agent=author, macro_id=int(macro_id)) if macro_id.isdigit() else None
    if macro is not None:
        macro_apply(macro=macro, ticket=ticket, actor=author)
    return message
