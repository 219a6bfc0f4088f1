"""Reads the console's pages share that belong to no single app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from django.core.cache import cache
from django.db.models import Exists, Max, OuterRef, Prefetch, Q, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from console.models import CustomerNote, SavedView
from core.templatetags.izonie import team_name
from policy.loader import get_policy
from sla.models import Escalation, EscalationStatus
from tickets import selectors as ticket_selectors
from tickets.choices import Direction, EventKind, MessageKind, Priority, TicketStatus
from tickets.events import RULES
from tickets.models import Attachment, Message, Ticket, TicketEvent
from workload.models import Reason, TicketSeen

# Read with the ticket for its page: its one-to-one rows the panels show (the triage
# note under the details, the social conversation, the dispute).
TICKET_PAGE_RELATED = ("triage__classifier", "social__contact__account", "dispute")


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
    if event.kind == EventKind.TAGS_CHANGED:
        parts = []
        if data.get("added"):
            parts.append("Tagged " + ", ".join(str(t) for t in data["added"]))
        if data.get("removed"):
            parts.append("Tag removed: " + ", ".join(str(t) for t in data["removed"]))
        return "; ".join(parts) or "Tags changed"
    if event.kind == EventKind.CUSTOMER_NOTE:
        return "Note about the customer " + ("deleted" if data.get("deleted") else "added")
    return str(event.get_kind_display())


def ticket_history(*, ticket: Ticket, limit: int = 50) -> list[HistoryLine]:
    """The ticket's events, newest first, each as one true sentence: what changed, and
    who did it, or which automatic rule did (and whose action set it off)."""
    # ``event.ticket`` is ``ticket`` itself (the related manager sets it), not read again.
    events = list(ticket.events.select_related("actor").order_by("-created_at", "-id")[:limit])
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


# --- The inbox's lists: a view, its filters and its sort, from a query string


@dataclass(frozen=True)
class InboxQuery:
    view: str
    filters: ticket_selectors.TicketFilters
    sort: str


def inbox_query(*, agent: User, params: Mapping[str, str]) -> InboxQuery:
    """The list a query string asks for (the inbox's, a saved view's): unknown values
    fall back to the view's own filters."""
    view = params.get("view", "open")
    if view not in {v.key for v in ticket_selectors.INBOX_VIEWS}:
        view = "open"
    filters = ticket_selectors.inbox_filters(agent=agent, view=view)
    category = params.get("category", "")
    if category:
        filters.category = "" if category == "none" else category
    filters.channel = params.get("channel") or None
    filters.team = params.get("team") or None
    status = params.get("status", "")
    if status in TicketStatus.values:
        filters.status = [status]
    filters.tag = params.get("tag", "")[:50]
    filters.text = params.get("q", "")[:200]
    filters.__post_init__()
    sort = ticket_selectors.sort_valid(params.get("sort", ""))
    return InboxQuery(view=view, filters=filters, sort=sort)


def next_in_view(*, agent: User, query_string: str, current_id: int) -> int | None:
    """The ticket after ``current_id`` in the list the agent last looked at, in its
    order; the list's first when the current one is not in it (any more)."""
    query = inbox_query(agent=agent, params=dict(parse_qsl(query_string)))
    ids = ticket_selectors.ticket_ids_in_order(viewer=agent, filters=query.filters, sort=query.sort)
    if current_id in ids:
        index = ids.index(current_id)
        return ids[index + 1] if index + 1 < len(ids) else None
    return ids[0] if ids else None


SAVED_COUNTS_TTL_SECONDS = 30


def saved_views_for(*, agent: User) -> list[SavedView]:
    """The agent's own views, then those shared by colleagues."""
    rows = SavedView.objects.filter(Q(owner=agent) | Q(shared=True)).select_related("owner")
    return sorted(rows, key=lambda v: (v.owner_id != agent.pk, v.name.lower(), v.pk))


def saved_view_counts(*, agent: User, views: list[SavedView]) -> dict[int, int]:
    """How many tickets each saved view holds; cached like the inbox's own counts."""
    if not views:
        return {}
    key = "saved-view-counts:{}:{}".format(agent.pk, ",".join(f"{v.pk}.{v.query}" for v in views))
    counts = cache.get(key)
    if counts is None:
        counts = {}
        for saved in views:
            query = inbox_query(agent=agent, params=dict(parse_qsl(saved.query)))
            counts[saved.pk] = ticket_selectors.ticket_count(viewer=agent, filters=query.filters)
        cache.set(key, counts, SAVED_COUNTS_TTL_SECONDS)
    return counts


def ticket_thread(*, agent: User, ticket: Ticket) -> Sequence[Message]:
    """The ticket page's thread (``messages_for_viewer``) in one statement, each message
    marked ``has_files``: the attachments are read, in one more, only when a message
    has any, which most do not."""
    thread = list(
        ticket_selectors.messages_for_viewer(viewer=agent, ticket=ticket)
        .prefetch_related(None)
        .annotate(has_files=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
    )
    with_files = [m for m in thread if m.has_files]
    # A file not downloaded from a social platform shows its link, read with it.
    files = Prefetch("attachments", Attachment.objects.select_related("social_link"))
    prefetch_related_objects(with_files, files)
    return thread


def customer_notes(*, customer: User, limit: int = 10) -> list[CustomerNote]:
    return list(
        CustomerNote.objects.filter(customer=customer)
        .select_related("author")
        .order_by("-created_at", "-pk")[:limit]
    )


# --- The inbox's rows: every value a row shows, worked out once per page


# Reply due this soon is shown amber; past due, red.
WARN_WITHIN = dt.timedelta(hours=1)


class ShortTimes:
    """``6 Dec 21:53`` in the team's time zone, for dense tables (the page footer names
    the zone; the full time, ``Sun 6 Dec 2026, 21:53 GMT``, is in the title), as
    ``<time>``. What ``date_format`` gives, without its per-call lookups: a page has
    fifty of them."""

    def __init__(self) -> None:
        self.zone = get_policy().calendar.zone
        self.days = [str(WEEKDAYS_ABBR[i]) for i in range(7)]
        self.months = [""] + [str(MONTHS_3[i]).title() for i in range(1, 13)]

    def html(self, value: dt.datetime | None) -> SafeString:
        if value is None:
            return SafeString("")
        local = value.astimezone(self.zone)
        clock = f"{local.hour:02d}:{local.minute:02d}"
        day = f"{local.day} {self.months[local.month]}"
        title = f"{self.days[local.weekday()]} {day} {local.year}, {clock} {local.tzname()}"
        return format_html(
            '<time datetime="{}" title="{}">{}</time>', value.isoformat(), title, f"{day} {clock}"
        )


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox, ready to print: the template only places the values."""

    ticket: Ticket
    href: str
    tags: SafeString  # the tag links in front of the subject
    escalated: bool
    customer_wrote: bool
    priority: str
    status: str
    requester: str
    category: str
    channel: str
    assignee: str
    updated: SafeString
    due: SafeString
    due_state: str  # "overdue", "warning" or ""
    css: str  # the row's classes


def inbox_rows(*, tickets: list[Ticket], agent: User, view: str) -> list[InboxRow]:
    """The page's rows with their marks (escalated, the customer wrote since the agent
    last looked, reply due and how soon), read in three queries for the page."""
    ids = [t.pk for t in tickets]
    if not ids:
        return []
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
    times = ShortTimes()
    categories = {c.key: c.name for c in get_policy().categories}
    priorities = {str(value): str(label) for value, label in Priority.choices}
    statuses = {str(value): str(label) for value, label in TicketStatus.choices}
    # One reversal for the page; each row's link swaps in its id.
    link = reverse("console:ticket", args=[0]).removesuffix("0/")
    view_link = f"?view={escape(view)}&amp;tag="
    rows = []
    for ticket in tickets:
        due = ticket.next_reply_due_at if ticket.first_replied_at else ticket.first_reply_due_at
        state = ""
        if due is not None and ticket.status in ("new", "open"):
            state = "overdue" if due < now else "warning" if due < now + WARN_WITHIN else ""
        wrote = last_in.get(ticket.pk)
        looked = seen.get(ticket.pk)
        customer_wrote = wrote is not None and (looked is None or wrote > looked)
        # Every part escaped here.
        tags = mark_safe(
            "".join(
                f'<a class="tag tag-lead" href="{view_link}{escape(quote(tag.name, safe="/"))}"'
                f' aria-label="Tag {escape(tag.name)}: show tickets with it">{escape(tag.name)}</a>'
                for tag in ticket.tags.all()
            )
        )
        category = ticket.category
        rows.append(
            InboxRow(
                ticket=ticket,
                href=f"{link}{ticket.pk}/",
                tags=tags,
                escalated=ticket.pk in escalated,
                customer_wrote=customer_wrote,
                priority=priorities.get(ticket.priority, ticket.priority),
                status=statuses.get(ticket.status, ticket.status),
                requester=str(ticket.requester),
                category=categories.get(category, category) if category else "Uncategorised",
                # Not a dict like the others: the sub-channel shows when there is one.
                channel=ticket.get_channel_display(),
                assignee=str(ticket.assignee) if ticket.assignee else "—",
                updated=times.html(ticket.updated_at),
                due=times.html(due),
                due_state=state,
                css=("unseen " if customer_wrote else "") + (f"due-{state}" if state else ""),
            )
        )
    return rows
