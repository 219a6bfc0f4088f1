"""Reads the console's pages share that belong to no single app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.models import User
from core.templatetags.izonie import team_name
from tickets.choices import EventKind, TicketStatus
from tickets.events import RULES
from tickets.models import Ticket, TicketEvent
from workload.models import Reason


@dataclass(frozen=True)
class HistoryLine:
    event: TicketEvent
    text: str


def _reason(value: object) -> str:
    try:
        return str(Reason(str(value)).label).lower()
    except ValueError:
        return ""


def _what(event: TicketEvent, names: dict[int, str]) -> str:
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
    old, new = data.get("old"), data.get("new")
    if event.kind == EventKind.ASSIGNED:
        old_name = names.get(old, "an agent") if isinstance(old, int) else None
        new_name = names.get(new, "an agent") if isinstance(new, int) else None
        if new_name is None:
            text = f"Unassigned from {old_name}" if old_name else "Unassigned"
        elif old_name:
            text = f"Reassigned from {old_name} to {new_name}"
        else:
            text = f"Assigned to {new_name}"
        return text
    if event.kind == EventKind.TEAM_CHANGED and isinstance(new, str):
        return f"Team changed from {team_name(old or '')} to {team_name(new)}"
    if event.kind == EventKind.STATUS_CHANGED and new in TicketStatus.values:
        return f"Status changed to {TicketStatus(new).label}"
    if event.kind == EventKind.MERGED_INTO and data.get("into_reference"):
        return f"Merged into {data['into_reference']} ({data.get('messages', 0)} messages moved)"
    if event.kind == EventKind.MERGED_FROM and data.get("from_references"):
        references = ", ".join(str(r) for r in data["from_references"])
        return f"Merged in {references} ({data.get('messages', 0)} messages)"
    return str(event.get_kind_display())


def ticket_history(*, ticket: Ticket, limit: int = 50) -> list[HistoryLine]:
    """The ticket's events, newest first, each as one true sentence: what changed, and
    who did it, or which automatic rule did (and whose action set it off)."""
    events = list(
        ticket.events.select_related("actor", "ticket").order_by("-created_at", "-id")[:limit]
    )
    ids: set[int] = set()
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        for key in ("old", "new", "triggered_by"):
            wanted = event.kind == EventKind.ASSIGNED or key == "triggered_by"
            if wanted and isinstance(data.get(key), int):
                ids.add(data[key])
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=ids)}
    lines = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        text = _what(event, names)
        rule = data.get("rule")
        if rule in RULES:
            text += f" by {RULES[rule]}"
            if isinstance(data.get("triggered_by"), int):
                text += f" (set off by {names.get(data['triggered_by'], 'someone')})"
        elif event.actor is not None:
            text += f" by {event.actor}"
        if event.kind == EventKind.ASSIGNED and data.get("reason"):
            reason = _reason(data["reason"])
            if reason:
                text += f" ({reason})"
            if data.get("new") is None and data.get("old") is not None:
                text += f"; back in the {team_name(event.ticket.team)} queue"
        lines.append(HistoryLine(event=event, text=text))
    return lines
