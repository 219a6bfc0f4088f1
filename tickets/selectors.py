"""Reads of conversations, always through the viewer's permissions."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from django.core.cache import cache
from django.db.models import (
    Case,
    CharField,
    F,
    OrderBy,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import STAFF_ROLE_LIST, User
from marketplace.adapters import OrderInfo, get_marketplace
from tickets.choices import (
    ACTIVE_STATUSES,
    UNRESOLVED_STATUSES,
    Direction,
    MessageKind,
    PartyRole,
    SubChannel,
    TicketStatus,
)
from tickets.models import STATUS_ORDER, Message, Party, Ticket


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    """Agents see every ticket; customers see their own and those they are a party to."""
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if user.is_agent:
        return tickets
    party_of = Party.objects.filter(user=user).exclude(role=PartyRole.REQUESTER).values("ticket_id")
    return tickets.filter(Q(requester=user) | Q(pk__in=party_of))


def ticket_get_for_viewer(*, viewer: User, ticket_id: int, related: tuple[str, ...] = ()) -> Ticket:
    """The ticket, or ``Ticket.DoesNotExist`` when it is missing *or* not the viewer's:
    the two look the same from outside, so ticket ids cannot be probed. ``related``
    names more one-to-one rows to read with it (what a page shows beside the ticket)."""
    return (
        tickets_visible_to(viewer)
        .select_related("requester", "assignee", *related)
        .get(pk=ticket_id)
    )


def messages_for_viewer(*, viewer: User, ticket: Ticket) -> QuerySet[Message]:
    """The thread as the viewer may see it, oldest first. Each message carries
    ``opened_on``: the ticket's sub-channel on the customer message it was opened with
    (the offline message left with the chat widget), blank on every other message, so
    ``Message.channel_label`` names it "Live chat, offline message", not "Email"."""
    messages = ticket.messages.select_related("author", "outbound").prefetch_related("attachments")
    if not viewer.is_agent:
        messages = messages.exclude(kind=MessageKind.NOTE)
    opened_on: Case | Value = Value("")
    if ticket.sub_channel:
        opening = (
            Message.objects.filter(ticket=ticket, direction=Direction.INBOUND)
            .order_by("created_at", "id")
            .values("pk")[:1]
        )
        opened_on = Case(
            When(pk=Subquery(opening), then=Value(ticket.sub_channel)),
            default=Value(""),
            output_field=CharField(),
        )
    return messages.annotate(opened_on=opened_on).order_by("created_at", "id")


# --- Lists with keyset pagination


class InvalidCursor(ValueError):
    pass


def encode_cursor(ticket: Ticket) -> str:
    raw = f"{ticket.updated_at.isoformat()}|{ticket.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        when = dt.datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("naive timestamp")
        # Converted here, so a stamp at the edge of the calendar fails here, not in the query.
        return when.astimezone(dt.UTC), int(pk)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not one this server issued.") from exc


@dataclass
class TicketFilters:
    status: list[str] = field(default_factory=list)
    category: str | None = None
    channel: str | None = None
    # Where inside its channel a ticket began (``SubChannel``), as well as its channel.
    sub_channel: str | None = None
    team: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    requester_id: int | None = None
    tag: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        # NUL cannot be stored, so it cannot be searched for: PostgreSQL refuses it in a
        # query parameter (a 500 on ?q=%00), SQLite would just match nothing.
        self.text = self.text.replace("\x00", "")
        if self.category is not None:
            self.category = self.category.replace("\x00", "")
        if self.team is not None:
            self.team = self.team.replace("\x00", "")
        self.tag = self.tag.replace("\x00", "")


@dataclass
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None


def tickets_filtered(tickets: QuerySet[Ticket], filters: TicketFilters) -> QuerySet[Ticket]:
    """``tickets`` narrowed by every field of ``filters`` except its text (the inbox list
    and the global search each match text their own way)."""
    if filters.status:
        tickets = tickets.filter(status__in=filters.status)
    if filters.category is not None:
        tickets = tickets.filter(category=filters.category)
    if filters.channel in SubChannel.values:
        tickets = tickets.filter(sub_channel=filters.channel)
    elif filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    if filters.sub_channel:
        tickets = tickets.filter(sub_channel=filters.sub_channel)
    if filters.team:
        tickets = tickets.filter(team=filters.team)
    if filters.unassigned:
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee_id is not None:
        tickets = tickets.filter(assignee_id=filters.assignee_id)
    if filters.requester_id is not None:
        tickets = tickets.filter(requester_id=filters.requester_id)
    if filters.tag:
        tickets = tickets.filter(tags__name=filters.tag)
    return tickets


# --- Sort orders of the inbox's columns

DEFAULT_SORT = "updated"


def _sort_keys() -> dict[str, list[OrderBy]]:
    """Each column's natural order (what an agent wants first); ``-key`` reverses it.
    The id comes last so the order is total and paging is stable."""
    return {
        "updated": [F("updated_at").desc(), F("id").desc()],
        "reference": [F("id").desc()],
        # Ranks and the reply due are generated columns (Ticket.priority_rank...),
        # each with an index in this order.
        "priority": [F("priority_rank").asc(), F("updated_at").desc(), F("id").desc()],
        "status": [F("status_rank").asc(), F("updated_at").desc(), F("id").desc()],
        "requester": [
            F("requester__display_name").asc(),
            F("requester__username").asc(),
            F("id").desc(),
        ],
        "category": [F("category").asc(), F("updated_at").desc(), F("id").desc()],
        "channel": [F("channel").asc(), F("updated_at").desc(), F("id").desc()],
        "assignee": [
            F("assignee__display_name").asc(nulls_first=True),
            F("assignee__username").asc(nulls_first=True),
            F("id").desc(),
        ],
        "due": [F("reply_due_at").asc(nulls_last=True), F("id").asc()],
    }


SORT_KEYS = frozenset(_sort_keys())


def sort_valid(sort: str) -> str:
    """``sort`` if it names a column (``-`` reverses), else the default."""
    return sort if sort.removeprefix("-") in SORT_KEYS else DEFAULT_SORT


def _ordering(sort: str) -> list[OrderBy]:
    key = sort_valid(sort)
    order = _sort_keys()[key.removeprefix("-")]
    if key.startswith("-"):
        return [cast(OrderBy, term.copy().reverse_ordering()) for term in order]
    return order


def _parts(tickets: QuerySet, sort: str, filters: TicketFilters) -> list[QuerySet]:
    """``tickets`` (narrowed by ``filters``) in ``sort`` order as parts read one after
    the other: one part for most orders; more where one query's plan would walk rows it
    then throws away.

    By assignee, the unassigned tickets come first (last, reversed), then those of the
    support team by name, then any still assigned to someone no longer on it: read as
    one query, the join's NULLs defeat every index, and walking every person's name
    (customers' too) to find the agents' tickets cost half a second at 50,000 customers.
    By status, the ranks the filter allows bound the index scan: reversed, it began at
    the resolved tickets and skipped them all. By reply due, reversed, the tickets with
    a time come first and those without one last, as in the natural order: their NULLs,
    first in a plain reversal, were every resolved ticket.
    """
    key = sort_valid(sort)
    column, reverse = key.removeprefix("-"), key.startswith("-")
    order = _ordering(key)
    if filters.assignee_id is not None and column in ("priority", "status", "category", "channel"):
        # One agent's list: their few hundred or thousand tickets, read by the agent's
        # index and sorted, rather than the column's index walked through everyone's
        # (the planner guesses the agent's turn up early; at 1,000,000 tickets it read
        # 170,000 rows for "mine by priority": 465 ms). COALESCE of a column never
        # NULL keeps the order and hides it from the column's index.
        lead = cast(OrderBy, order[0])
        blank = Value(0) if column in ("priority", "status") else Value("")
        order = [
            OrderBy(Coalesce(lead.expression, blank), descending=lead.descending),
            *order[1:],
        ]
        return [tickets.order_by(*order)]
    if column == "status":
        ranks = [STATUS_ORDER.index(s) for s in filters.status if s in STATUS_ORDER]
        if ranks:
            tickets = tickets.filter(status_rank__gte=min(ranks), status_rank__lte=max(ranks))
        return [tickets.order_by(*order)]
    if column == "due" and reverse:
        with_time = tickets.filter(reply_due_at__isnull=False)
        return [
            with_time.order_by(F("reply_due_at").desc(), F("id").desc()),
            tickets.filter(reply_due_at__isnull=True).order_by("-id"),
        ]
    if column != "assignee":
        return [tickets.order_by(*order)]
    # A list of one agent's tickets, or of unassigned ones, has one name: by id. (The
    # part a filter rules out was still read, all of it: a second at 1,000,000.)
    if filters.unassigned or filters.assignee_id is not None:
        return [tickets.order_by("id" if reverse else "-id")]
    unassigned = tickets.filter(assignee__isnull=True).order_by("id" if reverse else "-id")
    # On columns of the agent (never NULL): the join is then an inner one, which the
    # database drives from the support team's name index (accounts_user_staff_name_order).
    by_name = [F("assignee__display_name").asc(), F("assignee__username").asc(), F("id").desc()]
    if reverse:
        by_name = [cast(OrderBy, term.copy().reverse_ordering()) for term in by_name]
    named = tickets.filter(assignee__display_name__isnull=False)
    team = named.filter(assignee__role__in=STAFF_ROLE_LIST).order_by(*by_name)
    others = named.exclude(assignee__role__in=STAFF_ROLE_LIST).order_by(*by_name)
    return [team, others, unassigned] if reverse else [unassigned, team, others]


def _sorted_slice(
    tickets: QuerySet, sort: str, start: int, stop: int, filters: TicketFilters
) -> list:
    """Rows ``start`` to ``stop`` of ``tickets`` in ``sort`` order, read from the order's
    parts in turn (a part is counted only when the slice begins beyond its end)."""
    rows: list = []
    offset = start  # where the slice begins inside the current part
    for part in _parts(tickets, sort, filters):
        wanted = stop - start - len(rows)
        got = list(part[offset : offset + wanted])
        rows += got
        if len(got) == wanted:
            break
        offset = 0 if got or offset == 0 else max(0, offset - part.count())
    return rows


def _inbox_query(viewer: User, filters: TicketFilters) -> QuerySet[Ticket]:
    tickets = tickets_filtered(tickets_visible_to(viewer), filters)
    text = filters.text.strip()
    if text:
        reference = text.upper().removeprefix("IZS-").removeprefix("#")
        if reference.isdigit():
            tickets = tickets.filter(pk=int(reference))
        else:
            tickets = tickets.filter(Q(subject__icontains=text) | Q(order_number=text.upper()))
    return tickets


def ticket_list(
    *,
    viewer: User,
    filters: TicketFilters,
    cursor: str | None = None,
    limit: int = 25,
    sort: str = DEFAULT_SORT,
) -> TicketPage:
    """Tickets in ``sort`` order (newest activity first by default), ``limit`` at a
    time after ``cursor``.

    The default order pages by keyset on (updated_at, id): a deep page costs the same as
    the first, and a ticket updated while someone pages is not shown twice on one page.
    Another column's order pages by offset (``o50``): agents sort to look at the top.
    """
    tickets = _inbox_query(viewer, filters)
    sort = sort_valid(sort)
    if sort != DEFAULT_SORT:
        offset = 0
        if cursor:
            if not (cursor.startswith("o") and cursor[1:].isdigit()):
                raise InvalidCursor("The cursor is not one this server issued.")
            offset = int(cursor[1:])
        rows = _sorted_slice(
            tickets.select_related("requester", "assignee"),
            sort,
            offset,
            offset + limit + 1,
            filters=filters,
        )
        more = len(rows) > limit
        return TicketPage(tickets=rows[:limit], next_cursor=f"o{offset + limit}" if more else None)
    if cursor:
        when, pk = decode_cursor(cursor)
        tickets = tickets.filter(Q(updated_at__lt=when) | Q(updated_at=when, pk__lt=pk))
    rows = list(
        tickets.select_related("requester", "assignee").order_by("-updated_at", "-id")[: limit + 1]
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return TicketPage(tickets=rows[:limit], next_cursor=next_cursor)


# Lists count up to this many tickets and then say "1,000+": a count of a million
# rows is a scan of them (2.5 s at 1,000,000 tickets), a bounded one reads at most this
# many index entries. Zendesk and Chatwoot show such counts too.
COUNT_CAP = 1000


def count_label(count: int) -> str:
    """A bounded count as a badge shows it: ``12``, ``1,000+``."""
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def count_spoken(count: int) -> str:
    """... and as a screen reader says it: ``12 tickets``, ``more than 1,000 tickets``."""
    return f"more than {COUNT_CAP:,} tickets" if count > COUNT_CAP else f"{count:,} tickets"


def _bounded_count(tickets: QuerySet[Ticket]) -> int:
    """How many rows ``tickets`` has, up to ``COUNT_CAP + 1`` (meaning more than the cap)."""
    return tickets.order_by()[: COUNT_CAP + 1].count()


def ticket_count(*, viewer: User, filters: TicketFilters) -> int:
    """How many tickets the list holds, bounded: ``COUNT_CAP + 1`` stands for more."""
    return _bounded_count(_inbox_query(viewer, filters))


def ticket_ids_in_order(
    *, viewer: User, filters: TicketFilters, sort: str = DEFAULT_SORT, limit: int = 500
) -> list[int]:
    """The first ``limit`` ids of a list in its order: "the next ticket in this view"."""
    ids = _inbox_query(viewer, filters).values_list("pk", flat=True)
    return _sorted_slice(ids, sort, 0, limit, filters=filters)


# --- Inbox views for agents


@dataclass(frozen=True)
class InboxView:
    key: str
    label: str


INBOX_VIEWS = [
    InboxView("mine", "Assigned to me"),
    InboxView("unassigned", "Unassigned"),
    # Every unresolved ticket, those waiting on the customer included.
    InboxView("open", "All active"),
    InboxView("pending", "Waiting on customer"),
    InboxView("triage", "Needs a category"),
    InboxView("resolved", "Resolved"),
]


def inbox_filters(*, agent: User, view: str) -> TicketFilters:
    active = [str(s) for s in ACTIVE_STATUSES]
    if view == "mine":
        return TicketFilters(status=active, assignee_id=agent.pk)
    if view == "unassigned":
        return TicketFilters(status=active, unassigned=True)
    if view == "pending":
        return TicketFilters(status=[TicketStatus.PENDING])
    if view == "triage":
        return TicketFilters(status=active, category="")
    if view == "resolved":
        return TicketFilters(status=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
    return TicketFilters(status=[str(s) for s in UNRESOLVED_STATUSES])


INBOX_COUNTS_TTL_SECONDS = 30


def inbox_counts(*, agent: User) -> dict[str, int]:
    """How many tickets each inbox view holds, bounded (``COUNT_CAP + 1`` stands for
    more: ``count_label`` says "1,000+").

    Each count reads at most ``COUNT_CAP + 1`` index entries; they are still cached for
    half a minute (as helpdesks usually do): the inbox list itself is always live; only
    the badges may trail by up to 30 seconds. Every agent sees every ticket, so only
    "Assigned to me" is the agent's own; the other views' counts are read once for all
    agents. Cached per agent, each of 150 agents opening the inbox every minute or so
    missed the cache nearly every time: six counts per page, 16 % of the inbox's CPU
    under ``bench.day``.
    """
    if not agent.is_agent:
        # Not support staff: what they may see is their own (``tickets_visible_to``).
        return {view.key: _view_count(agent, view.key) for view in INBOX_VIEWS}
    shared_key = "inbox-counts:shared"
    shared = cache.get(shared_key)
    if shared is None:
        shared = {
            view.key: _view_count(agent, view.key)
            for view in INBOX_VIEWS
            if view.key not in AGENT_OWN_VIEWS
        }
        cache.set(shared_key, shared, INBOX_COUNTS_TTL_SECONDS)
    own_key = f"inbox-counts:{agent.pk}"
    own = cache.get(own_key)
    if own is None:
        own = {key: _view_count(agent, key) for key in AGENT_OWN_VIEWS}
        cache.set(own_key, own, INBOX_COUNTS_TTL_SECONDS)
    counts = {**shared, **own}
    return {view.key: counts[view.key] for view in INBOX_VIEWS}


# The views whose tickets depend on who looks (``inbox_filters``).
AGENT_OWN_VIEWS = ("mine",)


def _view_count(agent: User, view: str) -> int:
    return ticket_count(viewer=agent, filters=inbox_filters(agent=agent, view=view))


def agents_for_assignment() -> QuerySet[User]:
    from accounts.models import STAFF_ROLES

    return User.objects.filter(role__in=STAFF_ROLES, is_active=True).order_by(
        "display_name", "username"
    )


# Staff accounts change rarely; every ticket page and inbox page lists them all (about a
# millisecond of CPU for the query at 160 agents). Cleared whenever an account is saved
# (``tickets.apps``), and at most this old in any case (a bulk ``update()``).
AGENT_CHOICES_SECONDS = 30
AGENT_CHOICES_KEY = "tickets:agent-choices"


def agent_choices() -> list[tuple[int, str]]:
    """``(id, name)`` of every agent a ticket can be assigned to, named as ``User.__str__``
    names them, in the order of ``agents_for_assignment``: one query for a few columns
    instead of a full row per agent (the ticket page and the inbox list them all)."""
    cached = cache.get(AGENT_CHOICES_KEY)
    if cached is not None:
        return [(pk, name) for pk, name in cached]
    rows = agents_for_assignment().values_list(
        "pk", "display_name", "first_name", "last_name", "username"
    )
    choices = [
        (pk, display or f"{first} {last}".strip() or username)
        for pk, display, first, last, username in rows
    ]
    cache.set(AGENT_CHOICES_KEY, choices, AGENT_CHOICES_SECONDS)
    return choices


def agent_choices_forget() -> None:
    cache.delete(AGENT_CHOICES_KEY)


def last_customer_message(ticket: Ticket) -> Message | None:
    return ticket.messages.filter(direction=Direction.INBOUND).order_by("-created_at").first()


def order_for_agent(*, ticket: Ticket) -> OrderInfo | None:
    """The order the ticket is about, as the marketplace reports it (never for an
    unverified requester)."""
    if not ticket.order_number or not ticket.requester_verified:
        return None
    return get_marketplace().order_get(number=ticket.order_number)
