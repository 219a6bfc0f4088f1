"""Writes to live chat. Consumers, views and the console call these; every message
goes through ``tickets.services`` so SLA clocks, events and escalation detection
apply as on every other channel.

Each customer-visible item gets the next sequence number of its session under the
session's row lock, is committed, and only then relayed: a client that was told
"seq 7" can always get seq 7 back from the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from accounts.services import contacts_for_typed_emails
from chat import protocol, relay
from chat.availability import chat_availability, current_time, forget_pulse, online_cutoff
from chat.models import (
    AgentPresence,
    ChatEntry,
    ChatSession,
    EntryKind,
    OfflineMessage,
    Platform,
    Presence,
    Sender,
    SessionState,
)
from conduct import services as conduct
from conduct.exceptions import ConductActionError
from conduct.models import ConductFlag
from conduct.screening import Finding
from core.errors import UserError
from core.rows_insert import rows_insert
from core.rows_select import One, Select
from core.rows_update import rows_update
from core.task_rows import PlannedTask, tasks_enqueue_with_transaction
from identity import services as identity
from identity.models import Method
from policy.loader import get_policy
from tickets import events
from tickets import services as tickets
from tickets.attachments import CheckedUpload
from tickets.choices import Channel, SubChannel, TicketStatus
from tickets.escalation import escalation_request
from tickets.models import Attachment, Message, Ticket
from tickets.tagging import ticket_tags_add
from tickets.write_path import Outcome

logger = logging.getLogger(__name__)

CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
MAX_TEXT_CHARS = 5_000
LOAD_STATES = (SessionState.ASSIGNED, SessionState.ACTIVE)


class ChatError(UserError):
    """A chat request that cannot be done; ``code`` is the protocol's error code."""

    code = "chat_error"


class ChatUnavailable(ChatError):
    def __init__(self, message: str, *, code: str, next_open_at: dt.datetime | None = None):
        super().__init__(message)
        self.code = code
        self.next_open_at = next_open_at


class ChatEnded(ChatError):
    code = "chat_ended"


class NotYourChat(ChatError):
    code = "forbidden"


class InvalidFrame(ChatError):
    code = "invalid_frame"


def client_id_check(client_id: object) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise InvalidFrame(
            "client_id must be 8–64 letters, digits or _.:- (use a random UUID per message).",
            field="client_id",
        )
    return client_id


def _text_check(text: object, *, allow_empty: bool = False) -> str:
    if not isinstance(text, str):
        raise InvalidFrame("text must be a string.", field="text")
    text = text.replace("\x00", "").strip()
    if not text and not allow_empty:
        raise InvalidFrame("The message is empty.", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidFrame(
            f"The message is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}.",
            field="text",
        )
    return text


# --- The stream


def _lock(session: ChatSession) -> ChatSession:
    found = _SESSION_LOCKED(ids=[session.pk])
    if not found:
        raise ChatSession.DoesNotExist(f"Chat {session.pk} no longer exists.")
    return found[0]


# Compiled once each (core.rows_select): a chat's row, with the ticket and the customer
# every change needs, is read on every accept, transfer, end and rating, and a chat
# looked up by its public id on every socket that attaches to it.
_SESSION_LOCKED = Select(
    lambda ids: (
        ChatSession.objects.select_for_update(of=("self",), no_key=True)
        .select_related("ticket", "customer")
        .filter(pk__any=ids)
    )
)
_SESSION_BY_PUBLIC_ID = Select(
    lambda keys: (
        ChatSession.objects.select_related("ticket", "customer", "agent")
        .filter(public_id__any=keys)
        .order_by("pk")[:1]
    )
)


@dataclass(frozen=True)
class _Claim:
    """What a message needs to know of its session's row, read as the row is locked."""

    seq: int
    state: str
    agent_id: int | None
    # Changes once, when an unverified visitor proves their address mid-chat.
    customer_id: int


def _append(
    session: ChatSession,
    *,
    kind: EntryKind,
    sender: Sender,
    seq: int | None = None,
    text: str = "",
    author_name: str = "",
    message_id: int | None = None,
    client_id: str = "",
    data: dict[str, Any] | None = None,
    attachments: list[Attachment] | None = None,
    notify_agent_id: int | None = None,
) -> ChatEntry:
    """Next numbered entry of a locked session; relayed to everyone once committed.

    ``seq``: the number already taken (the first message of a chat); without it the
    next one is taken here, on a session the caller has locked.
    ``attachments``: the message's files when the caller has them (none for a typed
    message), so building the frame costs no query.
    ``notify_agent_id``: the agent handling the chat, told of the new message with an
    ``activity`` frame even when the chat is not open on their desk (unread counts).
    """
    if seq is None:
        session.last_seq += 1
        ChatSession.objects.filter(pk=session.pk).update(last_seq=session.last_seq)
        seq = session.last_seq
    entry = ChatEntry.objects.create(
        session=session,
        seq=seq,
        kind=kind,
        sender=sender,
        text=text,
        author_name=author_name,
        message_id=message_id,
        client_id=client_id,
        data=data or {},
    )
    frame = protocol.entry_frame(entry, attachments=attachments)
    _relay_on_commit(session, frame)
    if notify_agent_id is not None:
        transaction.on_commit(
            partial(relay.send, relay.agent_group(notify_agent_id), protocol.activity_frame(frame))
        )
    return entry


def _relay_on_commit(session: ChatSession, frame: dict[str, Any], *, customer: bool = True) -> None:
    groups = [relay.watch_group(session.public_id)]
    if customer:
        groups.append(relay.session_group(session.public_id))
    transaction.on_commit(partial(relay.send_many, [(group, frame) for group in groups]))


def queue_changed_frame(agents: Iterable[int | None] | None = None) -> dict[str, Any]:
    """What the consoles are told when the queue changes. ``agents``: the agents whose own
    chats changed too (offered, accepted, ended...); their consoles read their own list
    again, the others only the shared queue. ``None``: anyone's may have changed."""
    frame: dict[str, Any] = {"type": "queue_changed"}
    if agents is not None:
        frame["agents"] = sorted({pk for pk in agents if pk is not None})
    return frame


def _queue_changed_on_commit(*, agents: Iterable[int | None] | None = None) -> None:
    from chat.selectors import forget_shared_queue  # selectors import this module

    transaction.on_commit(forget_shared_queue)
    frame = queue_changed_frame(agents)
    transaction.on_commit(partial(relay.send, relay.AGENTS_GROUP, frame))


def entries_after(session: ChatSession, seq: int, *, limit: int = 500) -> list[ChatEntry]:
    return list(
        session.entries.filter(seq__gt=seq)
        .select_related("message")
        .prefetch_related("message__attachments")
        .order_by("seq")[:limit]
    )


# --- Customers


@dataclass(frozen=True)
class StartRequest:
    name: str
    email: str
    category: str
    text: str
    client_id: str
    order_number: str = ""
    platform: str = Platform.WEB
    # Context the widget reports (the page, where the visitor came from, the browser):
    # shown to agents, capped, never trusted.
    page_url: str = ""
    referrer: str = ""
    user_agent: str = ""


def _start_external_id(client_id: str) -> str:
    return f"chat-start:{client_id}"


@dataclass(frozen=True)
class StartIn:
    """A chat start to open: the widget's request, and the signed-in user if any."""

    request: StartRequest
    user: User | None = None


Started = tuple[ChatSession, bool]


def chat_start(
    *, request: StartRequest, user: User | None = None, assign: bool = True
) -> tuple[ChatSession, bool]:
    """Open a chat with its first message: ``chat_starts`` with one item, raising its
    error. Returns (session, created); the session's state is as opened, before the
    offer to an agent.

    ``assign``: offer the waiting chats to agents before returning. The chat socket
    passes its starts to ``chat.batching`` instead, which offers them after answering,
    once for all the chats its process opened meanwhile (``chat.batching.assign_soon``).
    """
    (outcome,) = chat_starts([StartIn(request=request, user=user)])
    session, created = outcome.unwrap()
    if created and assign:
        chat_assign_waiting()
    return session, created


@dataclass
class _Starting:
    index: int
    item: StartIn
    client_id: str = ""
    text: str = ""
    customer: User | None = None
    screened: list[Finding] = field(default_factory=list)
    outcome: Outcome[Started] | None = None
    # An earlier start of the batch with the same client id: answered as its retry.
    same_as: int | None = None

    @property
    def request(self) -> StartRequest:
        return self.item.request

    @property
    def signed_in(self) -> User | None:
        user = self.item.user
        if user is not None and user.is_authenticated and user.is_customer:
            return user
        return None


def chat_starts(items: Sequence[StartIn]) -> list[Outcome[Started]]:
    """Open a chat for each start, in one transaction; one result per item, in order:
    (session, created), or why it was not opened. Sessions are returned as opened
    (waiting): whoever shows their state reads them again (the socket's welcome does).

    A retried start (same ``client_id``) gets the session the first one opened
    (created False), provided it comes from the same address. Alone, it is recognised
    by the first message's unique id when it fails to store it again (or when chat has
    closed meanwhile); in a batch of several, by one look-up first.

    The steps, each over the whole batch: the checks that need no database; the retry
    look-up (batches of several); chat's availability, read once; the typed-in
    addresses' contacts in one go (``contacts_for_typed_emails``); the conduct screening;
    then in one transaction the tickets through ``tickets.write_path.tickets_open`` (one
    batch), their first messages read in one query, the sessions and their first entries
    in one INSERT each, and every frame relayed in one hand-over after the commit. If the
    transaction fails as a whole, each start is tried alone.
    """
    pending = [_Starting(index=i, item=item) for i, item in enumerate(items)]
    first_of: dict[str, int] = {}
    for p in pending:
        try:
            p.client_id = client_id_check(p.request.client_id)
            p.text = _text_check(p.request.text)
            if p.signed_in is None:
                _typed_contact_check(p.request.name, p.request.email)
        except UserError as exc:
            p.outcome = Outcome(error=exc)
            continue
        p.same_as = first_of.setdefault(p.client_id, p.index)
        if p.same_as == p.index:
            p.same_as = None
    live = [p for p in pending if p.outcome is None and p.same_as is None]
    looked_up = len(live) > 1
    if looked_up:
        existing = _sessions_for_starts([p.client_id for p in live])
        for p in live:
            if p.client_id in existing:
                p.outcome = _retry_answer(p, existing[p.client_id])
        live = [p for p in live if p.outcome is None]
    if live:
        availability = chat_availability(shared=True)
        if availability.can_start:
            _customers_and_screening(live)
            _together_or_one_by_one(live, _open_starts, "chat start")
        else:
            refusal = _unavailable(availability)
            for p in live:
                p.outcome = Outcome(error=refusal)
    for p in live:
        error = p.outcome.error if p.outcome is not None else None
        # A retry of a start that opened its chat (perhaps the same start arriving twice
        # at once: the other one won), or arriving after chat closed.
        if isinstance(error, IntegrityError) or (
            isinstance(error, ChatUnavailable) and not looked_up
        ):
            session = _session_for_start(p.client_id)
            if session is not None:
                p.outcome = _retry_answer(p, session)
    results: list[Outcome[Started]] = []
    for p in pending:
        if p.same_as is not None:
            first = pending[p.same_as]
            assert first.outcome is not None
            p.outcome = (
                _retry_answer(p, first.outcome.value[0])
                if first.outcome.value is not None
                else first.outcome
            )
        assert p.outcome is not None
        results.append(p.outcome)
    return results


def _unavailable(availability: Any) -> ChatUnavailable:
    if availability.reason == "closed":
        return ChatUnavailable(
            "Live chat is closed now. Leave a message and we will answer by email.",
            code="chat_closed",
            next_open_at=availability.hours.next_open_at,
        )
    return ChatUnavailable(
        "No agent is available right now. Leave a message and we will answer by email.",
        code="no_agents",
    )


def _retry_answer(p: _Starting, existing: ChatSession) -> Outcome[Started]:
    """A start whose client id opened ``existing``: that chat, if it is the same
    person's (the address typed, or the signed-in account)."""
    user = p.item.user
    if existing.customer.email.lower() != (p.request.email or "").strip().lower() and (
        user is None or existing.customer_id != user.pk
    ):
        return Outcome(error=InvalidFrame("client_id is already in use.", field="client_id"))
    return Outcome(value=(existing, False))


def _customers_and_screening(live: list[_Starting]) -> None:
    """Each start's customer (the signed-in one, or the contact of the typed address,
    all created in one go) and the conduct verdict on its text (before the transaction:
    never under a lock)."""
    typed = [p for p in live if p.signed_in is None]
    if typed:
        contacts = contacts_for_typed_emails([(p.request.email, p.request.name) for p in typed])
        for p, contact in zip(typed, contacts, strict=True):
            p.customer = contact
    for p in live:
        if p.customer is None:
            p.customer = p.signed_in
        p.screened = conduct.text_screened(text=p.text, author=p.customer)


def _together_or_one_by_one(live: list[Any], write: Callable[[list[Any]], None], what: str) -> None:
    """``write`` the batch in one transaction (it sets each item's ``outcome``); if the
    batch fails as a whole, each item alone, so that only a bad one gets an error.
    ``what`` names an item in the log ("chat start")."""
    try:
        write(live)
        return
    except Exception as exc:
        if len(live) == 1:
            _set_aside(live[0], exc, what)
            return
        logger.warning("%d of %s together failed; one by one now", len(live), what)
    for p in live:
        p.outcome = None
        try:
            write([p])
        except Exception as alone:
            _set_aside(p, alone, what)


def _set_aside(p: Any, exc: Exception, what: str) -> None:
    # A constraint or a refusal is the item's own answer; anything else is worth a trace.
    if not isinstance(exc, IntegrityError | UserError):
        logger.warning("A %s was set aside: %r", what, exc, exc_info=True)
    p.outcome = Outcome(error=exc)


def _open_starts(live: list[_Starting]) -> None:
    """One transaction for the batch; sets each start's outcome, raises if it fails as
    a whole (then no outcome counts: the caller tries each alone)."""
    from tickets.write_path import Opened, TicketToOpen, conversations_open

    now = timezone.now()
    outcomes: dict[int, Outcome[Started]] = {}
    with transaction.atomic():
        # Each new ticket's first customer message (its ``ticket`` the new ticket) and
        # the system's replies (asking for the order number, say): the chat's first
        # entries link to them, without reading back what was just written. The replies
        # join the stream here, in this transaction, instead of through the outbox and
        # a worker's delivery a moment later.
        opened = conversations_open(
            [
                TicketToOpen(
                    requester=_customer_of(p),
                    channel=Channel.LIVE_CHAT,
                    body=p.text,
                    category=p.request.category,
                    order_number=p.request.order_number,
                    external_id=_start_external_id(p.client_id),
                    author_name=p.request.name.strip()[:150] or str(_customer_of(p)),
                    screened=p.screened,
                    replies_by_caller=True,
                )
                for p in live
            ],
            # This transaction goes down with a failing batch (then each start alone).
            savepoint=False,
        )
        firsts: dict[int, Opened] = {}
        for p, outcome in zip(live, opened, strict=True):
            if outcome.error is not None:
                outcomes[p.index] = Outcome(error=outcome.error)
            else:
                firsts[p.index] = outcome.unwrap()
        started = [p for p in live if p.index in firsts]
        sessions = [
            ChatSession(
                ticket=firsts[p.index].first.ticket,
                customer=_customer_of(p),
                state=SessionState.WAITING,
                platform=(
                    p.request.platform if p.request.platform in Platform.values else Platform.WEB
                ),
                visitor_name=p.request.name.strip()[:150],
                page_url=_url_or_blank(p.request.page_url),
                referrer=_url_or_blank(p.request.referrer),
                user_agent=(p.request.user_agent or "")[:300],
                queued_at=now,
                # The first message and the system's replies, appended below.
                last_seq=1 + len(firsts[p.index].system_replies),
            )
            for p in started
        ]
        rows_insert(sessions)
        entries = []
        for p, session in zip(started, sessions, strict=True):
            message = firsts[p.index].first
            entries.append(
                ChatEntry(
                    session=session,
                    seq=1,
                    kind=EntryKind.MESSAGE,
                    sender=Sender.CUSTOMER,
                    text=p.text,
                    author_name=message.author_name,
                    message=message,
                    client_id=p.client_id,
                    data={},
                )
            )
            entries += [
                ChatEntry(
                    session=session,
                    seq=seq,
                    kind=EntryKind.MESSAGE,
                    sender=Sender.SYSTEM,
                    text=reply.body_text,
                    author_name=reply.author_name,
                    message=reply,
                    data={},
                )
                for seq, reply in enumerate(firsts[p.index].system_replies, start=2)
            ]
            if p.screened:
                transaction.on_commit(partial(_conduct_flag_hint, message_id=message.pk))
            outcomes[p.index] = Outcome(value=(session, True))
        rows_insert(entries)
        relayed: relay.Items = []
        for entry in entries:
            session = entry.session
            frame = protocol.entry_frame(entry, attachments=[])
            relayed.append((relay.watch_group(session.public_id), frame))
            relayed.append((relay.session_group(session.public_id), frame))
        if relayed:
            transaction.on_commit(partial(relay.send_many, relayed))
        if started:
            # New chats are nobody's yet: offers say so separately.
            _queue_changed_on_commit(agents=())
    for p in live:
        p.outcome = outcomes[p.index]


def _customer_of(p: _Starting) -> User:
    assert p.customer is not None
    return p.customer


def _sessions_for_starts(client_ids: list[str]) -> dict[str, ChatSession]:
    """The sessions these client ids' starts opened, by client id (two queries)."""
    by_external = {_start_external_id(c): c for c in client_ids}
    tickets_of = {
        ticket_id: str(external_id)
        for ticket_id, external_id in Message.objects.filter(
            channel=Channel.LIVE_CHAT, external_id__in=list(by_external)
        ).values_list("ticket_id", "external_id")
    }
    if not tickets_of:
        return {}
    return {
        by_external[tickets_of[session.ticket_id]]: session
        for session in ChatSession.objects.select_related("customer", "ticket").filter(
            ticket_id__in=list(tickets_of)
        )
    }


def _session_for_start(client_id: str) -> ChatSession | None:
    return (
        ChatSession.objects.select_related("customer", "ticket")
        .filter(
            ticket__messages__channel=Channel.LIVE_CHAT,
            ticket__messages__external_id=_start_external_id(client_id),
        )
        .first()
    )


def _typed_contact_check(name: str, email: str) -> None:
    """A typed-in name and address, before the contact is looked up or created."""
    try:
        validate_email((email or "").strip())
    except ValidationError:
        raise InvalidFrame("Enter a valid email address.", field="email") from None
    if not (name or "").strip():
        raise InvalidFrame("Tell us your name.", field="name")


def _url_or_blank(value: str) -> str:
    """An http(s) URL the widget reported, or nothing: agents open these links."""
    value = (value or "").strip()
    if len(value) > 500 or not value.lower().startswith(("http://", "https://")):
        return ""
    return value


# --- Messages, a batch at a time


@dataclass(frozen=True)
class MessageIn:
    """A chat message to store: the customer's (``agent`` None) or an agent's.

    ``session`` may be an old copy (a socket keeps the one it attached with): only its
    ids, ticket and visitor name are used, which never change; the state, who handles
    the chat and the customer (which changes once if the visitor proves their address)
    are read as the row is locked."""

    session: ChatSession
    client_id: object
    text: object
    agent: User | None = None
    uploads: Sequence[CheckedUpload] = ()

    @property
    def sender(self) -> Sender:
        return Sender.CUSTOMER if self.agent is None else Sender.AGENT


Stored = tuple[ChatEntry, bool]


@dataclass
class _Pending:
    index: int
    item: MessageIn
    client_id: str = ""
    text: str = ""
    screened: list[Finding] = field(default_factory=list)
    outcome: Outcome[Stored] | None = None
    # An earlier message of the batch with the same client id: answered as its retry.
    same_as: int | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.item.session.pk, str(self.item.sender), self.client_id)


def chat_messages_store(items: Sequence[MessageIn]) -> list[Outcome[Stored]]:
    """Store a batch of chat messages, customers' and agents', of any chats, in one
    transaction; one result per item, in order: (entry, created), or why it was not
    stored. A retried client id gets the entry stored the first time (created False),
    with its original sequence number.

    The steps, each over the whole batch: the checks that need no database; one look-up
    of client ids already stored (skipped for a batch of one typed message, whose retry
    fails on the unique ids instead); the conduct screening of customers' texts; then in
    one transaction the sessions' rows locked and their sequence numbers taken in one
    UPDATE, the customers' messages through ``tickets.write_path.messages_append`` and
    the agents' through ``replies_append`` (one batch each), the entries in one INSERT, and every
    frame relayed in one hand-over after the commit. If the transaction fails as a
    whole, each message is tried alone, so a bad one is set aside with its error and
    the others are stored.
    """
    pending = [_Pending(index=i, item=item) for i, item in enumerate(items)]
    first_of: dict[tuple[int, str, str], int] = {}
    for p in pending:
        try:
            p.client_id = client_id_check(p.item.client_id)
            p.text = _text_check(p.item.text, allow_empty=bool(p.item.uploads))
            if p.item.agent is not None:
                _team_member(p.item.agent)
        except UserError as exc:
            p.outcome = Outcome(error=exc)
            continue
        p.same_as = first_of.setdefault(p.key, p.index)
        if p.same_as == p.index:
            p.same_as = None
    live = [p for p in pending if p.outcome is None and p.same_as is None]
    # Files reach storage before the commit: a retried upload is recognised before it
    # stores them again. A batch of one typed message needs no look-up first: its retry
    # fails on the message's (or the entry's) unique ids and is answered below.
    looked_up = len(live) > 1 or any(p.item.uploads for p in live)
    if looked_up:
        stored = _entries_stored([p.key for p in live])
        for p in live:
            entry = stored.get(p.key)
            if entry is not None:
                p.outcome = Outcome(value=(entry, False))
        live = [p for p in live if p.outcome is None]
    for p in live:
        if p.item.agent is None:
            # Screened before the transaction: never under the sessions' or the write lock.
            p.screened = conduct.text_screened(text=p.text, author=p.item.session.customer)
    if live:
        _together_or_one_by_one(live, _store_each, "chat message")
    for p in live:
        error = p.outcome.error if p.outcome is not None else None
        # A retry of a message stored before (perhaps before the chat ended, or by a
        # racing frame) is acknowledged again with its number.
        if isinstance(error, IntegrityError) or (isinstance(error, UserError) and not looked_up):
            existing = _entry_for(p.item.session, p.item.sender, p.client_id)
            if existing is not None:
                p.outcome = Outcome(value=(existing, False))
    results: list[Outcome[Stored]] = []
    for p in pending:
        if p.same_as is not None:
            first = pending[p.same_as].outcome
            assert first is not None
            p.outcome = Outcome(value=(first.value[0], False)) if first.value is not None else first
        assert p.outcome is not None
        results.append(p.outcome)
    return results


def _entries_stored(keys: list[tuple[int, str, str]]) -> dict[tuple[int, str, str], ChatEntry]:
    wanted = set(keys)
    found = _ENTRIES_BY_CLIENT_ID(sessions={k[0] for k in keys}, client_ids={k[2] for k in keys})
    return {
        key: entry
        for entry in found
        if (key := (entry.session_id, str(entry.sender), entry.client_id)) in wanted
    }


# Compiled once (core.rows_select): every batch of more than one message reads it.
_ENTRIES_BY_CLIENT_ID = Select(
    lambda sessions, client_ids: ChatEntry.objects.select_related("message").filter(
        session_id__any=sessions, client_id__any=client_ids
    )
)


def _store_each(live: list[_Pending]) -> None:
    for p, outcome in zip(live, _store(live), strict=True):
        p.outcome = outcome


def _claim_check(claim: _Claim, agent: User | None) -> None:
    if agent is not None and claim.agent_id != agent.pk and not agent.is_supervisor:
        raise NotYourChat("This chat is handled by another agent.")
    if claim.state == SessionState.ENDED:
        if agent is None:
            raise ChatEnded("This chat has ended. Start a new chat to write again.")
        raise ChatEnded("This chat has ended.")
    if agent is not None and claim.state != SessionState.ACTIVE:
        raise InvalidFrame("Accept the chat before writing.", field="session")


def _store(live: list[_Pending]) -> list[Outcome[Stored]]:
    """One transaction for the batch; raises if it fails as a whole."""
    from tickets.write_path import (
        MessageToAppend,
        ReplyToAppend,
        messages_append,
        replies_append,
    )

    results: dict[int, Outcome[Stored]] = {}
    messages: dict[int, Message] = {}
    with transaction.atomic():
        counts = Counter(p.item.session.pk for p in live)
        claims = _claim_seqs(counts)
        customers: list[_Pending] = []
        agents: list[_Pending] = []
        for p in live:
            claim = claims.get(p.item.session.pk)
            try:
                if claim is None:
                    raise InvalidFrame("No such chat.", field="session")
                _claim_check(claim, p.item.agent)
            except UserError as exc:
                results[p.index] = Outcome(error=exc)
                continue
            (customers if p.item.agent is None else agents).append(p)
        if customers:
            # A socket's copy may predate the customer proving their address (another
            # tab did): the chat is the account's from then on.
            moved = {
                claims[p.item.session.pk].customer_id
                for p in customers
                if claims[p.item.session.pk].customer_id != p.item.session.customer_id
            }
            accounts = User.objects.in_bulk(moved) if moved else {}
            appended = messages_append(
                [
                    MessageToAppend(
                        ticket=p.item.session.ticket,
                        author=accounts.get(
                            claims[p.item.session.pk].customer_id, p.item.session.customer
                        ),
                        body=p.text,
                        uploads=p.item.uploads,
                        external_id=f"chat:{p.item.session.public_id}:{p.client_id}",
                        screened=p.screened,
                    )
                    for p in customers
                ],
                # This transaction goes down with a failing batch (then each alone).
                savepoint=False,
            )
            for p, outcome in zip(customers, appended, strict=True):
                if outcome.error is not None:
                    results[p.index] = Outcome(error=outcome.error)
                else:
                    messages[p.index] = outcome.unwrap()
        if agents:
            replied = replies_append(
                [
                    ReplyToAppend(
                        ticket=p.item.session.ticket,
                        author=p.item.agent,
                        body=p.text,
                        uploads=p.item.uploads,
                        through_outbox=False,
                    )
                    for p in agents
                    if p.item.agent is not None
                ],
                savepoint=False,
            )
            for p, outcome in zip(agents, replied, strict=True):
                if outcome.error is not None:
                    results[p.index] = Outcome(error=outcome.error)
                else:
                    messages[p.index] = outcome.unwrap()
        # Number what was stored, in arrival order per chat; a number taken for a
        # message that was refused is given back, so the stream stays gap-free.
        next_seq = {pk: claims[pk].seq - n + 1 for pk, n in counts.items() if pk in claims}
        entries: list[tuple[_Pending, ChatEntry]] = []
        for p in live:
            message = messages.get(p.index)
            if message is None:
                continue
            session = p.item.session
            seq = next_seq[session.pk]
            next_seq[session.pk] = seq + 1
            entries.append(
                (
                    p,
                    ChatEntry(
                        session=session,
                        seq=seq,
                        kind=EntryKind.MESSAGE,
                        sender=p.item.sender,
                        text=p.text,
                        author_name=(
                            session.visitor_name or str(session.customer)
                            if p.item.agent is None
                            else p.item.agent.display_name or str(p.item.agent)
                        ),
                        message=message,
                        client_id=p.client_id,
                        data={},
                    ),
                )
            )
        given_back = {pk: seq - 1 for pk, seq in next_seq.items() if seq - 1 != claims[pk].seq}
        if given_back:
            rows_update(ChatSession, list(given_back), changed={"last_seq": given_back})
        rows_insert([entry for _p, entry in entries])
        relayed: relay.Items = []
        for p, entry in entries:
            assert entry.message is not None
            frame = protocol.entry_frame(
                entry, attachments=list(entry.message.attachments.all()) if p.item.uploads else []
            )
            public_id = p.item.session.public_id
            relayed.append((relay.watch_group(public_id), frame))
            relayed.append((relay.session_group(public_id), frame))
            agent_id = claims[p.item.session.pk].agent_id
            if p.item.agent is None and agent_id is not None:
                # The agent handling the chat is told even when it is not open on their
                # desk (unread counts).
                relayed.append((relay.agent_group(agent_id), protocol.activity_frame(frame)))
            if p.screened:
                transaction.on_commit(partial(_conduct_flag_hint, message_id=entry.message.pk))
            results[p.index] = Outcome(value=(entry, True))
        if relayed:
            transaction.on_commit(partial(relay.send_many, relayed))
    return [results[p.index] for p in live]


def _claim_seqs(counts: dict[int, int]) -> dict[int, _Claim]:
    """Lock the sessions' rows and take ``counts[id]`` sequence numbers of each in one
    statement (UPDATE … RETURNING: PostgreSQL, SQLite 3.35+); each claim's ``seq`` is
    the last number taken. The rows are locked in the order of their ids, so two
    processes' batches cannot wait for each other. Call inside a transaction: a
    rollback gives the numbers back, and the locks held until the commit keep the
    streams gap-free and in order."""
    table = connection.ops.quote_name(ChatSession._meta.db_table)
    ids = sorted(counts)
    returning = "RETURNING id, last_seq, state, agent_id, customer_id"
    if len(ids) == 1:
        sql = f"UPDATE {table} SET last_seq = last_seq + %s WHERE id = %s {returning}"  # noqa: S608
        params: list[int] = [counts[ids[0]], ids[0]]
    else:
        marks = ", ".join(["%s"] * len(ids))
        cases = " ".join(["WHEN %s THEN %s"] * len(ids))
        target = (
            f"(SELECT id FROM {table} WHERE id IN ({marks}) ORDER BY id FOR NO KEY UPDATE)"  # noqa: S608
            if connection.features.has_select_for_update
            else f"({marks})"
        )
        sql = (
            f"UPDATE {table} SET last_seq = last_seq + CASE id {cases} END "  # noqa: S608
            f"WHERE id IN {target} {returning}"
        )
        params = [n for pk in ids for n in (pk, counts[pk])] + ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        row[0]: _Claim(seq=row[1], state=row[2], agent_id=row[3], customer_id=row[4])
        for row in rows
    }


def chat_customer_message(
    *,
    session: ChatSession,
    client_id: str,
    text: str,
    uploads: Sequence[CheckedUpload] = (),
) -> tuple[ChatEntry, bool]:
    """Store a customer's message once: ``chat_messages_store`` with one item, raising
    its error. Returns (entry, created); a retry returns the entry stored the first
    time, with its original sequence number."""
    (outcome,) = chat_messages_store(
        [MessageIn(session=session, client_id=client_id, text=text, uploads=uploads)]
    )
    return outcome.unwrap()


def _conduct_flag_hint(*, message_id: int) -> None:
    """Tell the agents watching a live chat which message conduct flagged (on commit,
    when the flag and the chat entry of the message exist)."""
    flag = ConductFlag.objects.filter(message_id=message_id).first()
    entry = (
        ChatEntry.objects.select_related("session").filter(message_id=message_id).first()
        if flag is not None
        else None
    )
    if flag is None or entry is None:
        return
    relay.send(
        relay.watch_group(entry.session.public_id),
        {
            "type": "conduct_flag",
            "session": str(entry.session.public_id),
            "message_seq": entry.seq,
            "severity": flag.severity,
            "labels": flag.labels,
        },
    )


def _entry_for(session: ChatSession, sender: Sender, client_id: str) -> ChatEntry | None:
    return (
        ChatEntry.objects.select_related("message")
        .filter(session=session, sender=sender, client_id=client_id)
        .first()
    )


def chat_mark(*, session: ChatSession, by: Sender, read_seq: int, delivered: bool = False) -> int:
    """Record that the customer (or the agent) has received/read up to ``read_seq``."""
    # The caller's copy of the session may be old: clamp to the stream's real end.
    last_seq = ChatSession.objects.filter(pk=session.pk).values_list("last_seq", flat=True).get()
    seq = min(max(int(read_seq), 0), last_seq)
    if by == Sender.CUSTOMER:
        field = "customer_delivered_seq" if delivered else "customer_read_seq"
    else:
        field = "agent_read_seq"
    updated = ChatSession.objects.filter(pk=session.pk, **{f"{field}__lt": seq}).update(
        **{field: seq}
    )
    if updated:
        frame = {"type": "delivered" if delivered else "read", "by": str(by), "seq": seq}
        relay.send_many(
            [
                (relay.watch_group(session.public_id), frame),
                (relay.session_group(session.public_id), frame),
            ]
        )
    return seq


def chat_escalate(*, session: ChatSession, reason: str = "") -> bool:
    """The customer pressed "Escalate to a Supervisor". Returns whether it is new."""
    _escalation, created = escalation_request(
        ticket=session.ticket,
        requested_by=session.customer,
        channel=Channel.LIVE_CHAT,
        reason=reason,
    )
    if created:
        # The desks show the marker in their lists; the agent in the chat sees it at once.
        frame = {"type": "escalated", "session": str(session.public_id), "reason": reason[:500]}
        transaction.on_commit(partial(relay.send, relay.watch_group(session.public_id), frame))
        _queue_changed_on_commit(agents=(session.agent_id,))
    return created


def chat_rate(*, session: ChatSession, score: object, comment: object = "") -> ChatSession:
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidFrame("score must be a whole number from 1 to 5.", field="score")
    comment_text = comment.strip()[:2000] if isinstance(comment, str) else ""
    with transaction.atomic():
        locked = _lock(session)
        if not locked.is_ended:
            raise InvalidFrame("A chat can be rated once it has ended.", field="score")
        window = dt.timedelta(hours=settings.IZONIE_CHAT_RATING_CHANGEABLE_HOURS)
        if locked.rated_at is not None and timezone.now() - locked.rated_at > window:
            raise InvalidFrame("This rating can no longer be changed.", field="score")
        # The one writer of ratings (window, RATED event, low-score follow-up); its
        # errors become this protocol's invalid_frame.
        from feedback.services import feedback_record

        try:
            result = feedback_record(
                ticket=locked.ticket,
                channel=Channel.LIVE_CHAT,
                score=score,
                comment=comment_text,
                interaction=f"chat:{locked.public_id}",
                actor=locked.customer,
            )
        except UserError as exc:
            raise InvalidFrame(exc.message, field="score") from None
        locked.rating, locked.rating_comment = score, result.rating.comment
        if locked.rated_at is None:
            locked.rated_at = timezone.now()
        locked.save(update_fields=["rating", "rating_comment", "rated_at"])
    return locked


OFFLINE_TAG = "live-chat-offline"


def chat_leave_message(
    *,
    name: str,
    email: str,
    category: str,
    text: str,
    order_number: str = "",
    page_url: str = "",
    referrer: str = "",
    user: User | None = None,
) -> Ticket:
    """Offline mode: the message becomes a ticket answered by email, under the email
    response target. Agents see its sub-channel, "Live chat, offline message", in the
    channel's place (and can filter on it), with the page it was left on; the reply
    still goes by email (the ticket's channel is email). It is also tagged
    ``live-chat-offline``; the page is kept in an ``OfflineMessage`` row beside it."""
    if user is not None and user.is_authenticated and user.is_customer:
        customer = user
    else:
        _typed_contact_check(name, email)
        (customer,) = contacts_for_typed_emails([(email, name)])
    ticket = tickets.ticket_open(
        requester=customer,
        channel=Channel.EMAIL,
        sub_channel=SubChannel.CHAT_OFFLINE,
        body=_text_check(text),
        category=category,
        order_number=order_number,
        author_name=(name.strip() or customer.display_name or str(customer))[:150],
    )
    # A line in the history too, as tags added on the ticket page have (by the system).
    ticket_tags_add(tickets=[ticket], actor=None, names=[OFFLINE_TAG])
    OfflineMessage.objects.create(
        ticket=ticket, page_url=_url_or_blank(page_url), referrer=_url_or_blank(referrer)
    )
    # The answer goes by email anyway; the link lets the customer prove the address so
    # their orders can be looked at. An address over its hourly quota just gets no link.
    with contextlib.suppress(identity.VerificationError):
        identity.challenge_send(ticket=ticket, method=Method.LINK)
    return ticket


# --- Proving the address in the chat


def chat_verify_request(*, session: ChatSession) -> str:
    """Email the chat's unverified customer a code; returns the masked address."""
    challenge = identity.challenge_send(ticket=session.ticket, method=Method.CODE)
    return identity.masked_email(challenge.email)


def chat_verify(*, session: ChatSession, code: object) -> ChatSession:
    """Check the code; on success the chat is the account's from now on, and both the
    customer and the agents watching are told (a ``verified`` frame)."""
    identity.code_check(ticket=session.ticket, code=code)
    session = ChatSession.objects.select_related("ticket", "customer", "agent").get(pk=session.pk)
    frame = {
        "type": "verified",
        "session": str(session.public_id),
        "method": session.ticket.requester_identity,
    }
    relay.send_many(
        [
            (relay.watch_group(session.public_id), frame),
            (relay.session_group(session.public_id), frame),
        ]
    )
    return session


# --- Agents


def presence_for(agent: User) -> AgentPresence:
    presence, _created = AgentPresence.objects.get_or_create(agent=agent)
    return presence


def presence_set(*, agent: User, status: str) -> AgentPresence:
    if status not in Presence.values:
        raise InvalidFrame(f"status must be one of {', '.join(Presence.values)}.", field="status")
    presence = presence_for(agent)
    presence.status = status
    presence.last_seen_at = timezone.now()
    presence.save(update_fields=["status", "last_seen_at", "changed_at"])
    _queue_changed_on_commit(agents=(agent.pk,))
    # Waiting widgets poll the pulse: in this process they see the change at once.
    transaction.on_commit(forget_pulse)
    if status != Presence.ONLINE:
        with transaction.atomic():
            _withdraw_offers_of(agent)
    # Tickets (not chats) follow presence: see workload.services.
    from workload.services import presence_changed

    transaction.on_commit(partial(presence_changed, agent_id=agent.pk, status=status))
    chat_assign_waiting()
    return presence


def presence_heartbeat(*, agent: User) -> None:
    AgentPresence.objects.filter(agent=agent).update(last_seen_at=timezone.now())
    # An agent online since before a restart has no heartbeat watch yet: arm one.
    from workload.services import heartbeat_seen

    heartbeat_seen(agent_id=agent.pk)


def agent_loads(now: dt.datetime) -> list[tuple[AgentPresence, int]]:
    """The online agents with their numbers of chats, least loaded first."""
    return [(p, p.load) for p in _AGENT_LOADS(cutoff=online_cutoff(now))]  # type: ignore[attr-defined]


# Compiled once (core.rows_select): every round of offers reads both, a burst of chat
# starts many rounds a second.
_AGENT_LOADS = Select(
    lambda cutoff: (
        AgentPresence.objects.select_related("agent")
        .filter(
            status=Presence.ONLINE,
            last_seen_at__gte=One(cutoff, models.DateTimeField()),
            agent__is_active=True,
        )
        .annotate(
            load=Count(
                "agent__chats_handled", filter=Q(agent__chats_handled__state__in=LOAD_STATES)
            )
        )
        .order_by("load", "last_seen_at", "agent_id")
    )
)
_WAITING = Select(
    lambda: (
        ChatSession.objects.select_related("ticket")
        .filter(state=SessionState.WAITING)
        .order_by("queued_at", "pk")[:200]
    )
)


def _eligible(presence: AgentPresence, session: ChatSession) -> bool:
    if presence.skills and session.ticket.category not in presence.skills:
        return False
    return not (session.wanted_team and session.wanted_team not in (presence.agent.teams or []))


def chat_assign_waiting() -> int:
    """Offer waiting chats, oldest first, to the least-loaded available agent who has
    room and the skills. Returns how many were offered.

    One round: the queue and the agents' loads read once, the choices made in memory,
    then one transaction: the chosen chats taken in one ``UPDATE … RETURNING`` (a chat
    someone else took meanwhile is skipped), their offer timers' task rows in one
    INSERT, and the offers relayed in one hand-over on the commit."""
    now = current_time()
    waiting = _WAITING()
    if not waiting:
        return 0
    loads = agent_loads(now)
    chosen: dict[int, tuple[ChatSession, int]] = {}
    for session in waiting:
        candidates = [
            (load, i)
            for i, (p, load) in enumerate(loads)
            if load < p.max_chats and _eligible(p, session)
        ]
        if not candidates:
            continue
        # Someone who let this chat's offer lapse gets it again only if nobody else can.
        fresh = [c for c in candidates if loads[c[1]][0].agent_id not in session.passed_agent_ids]
        load, index = min(fresh or candidates)
        presence = loads[index][0]
        chosen[session.pk] = (session, presence.agent_id)
        loads[index] = (presence, load + 1)
    if not chosen:
        return 0
    with transaction.atomic():
        assigned_at = timezone.now()
        taken = _offers_take({pk: agent_id for pk, (_s, agent_id) in chosen.items()}, assigned_at)
        offered = [chosen[pk] for pk in chosen if pk in taken]
        _offers_on_commit(offered, assigned_at=assigned_at)
    return len(offered)


def _offers_take(chosen: dict[int, int], assigned_at: dt.datetime) -> set[int]:
    """Offer each chat ``chosen[id]`` to that agent if it is still waiting, in one
    statement; the ids taken. The rows are locked in id order, as the message batches
    lock them (``_claim_seqs``), so the two never wait for each other in a circle."""
    table = connection.ops.quote_name(ChatSession._meta.db_table)
    ids = sorted(chosen)
    marks = ", ".join(["%s"] * len(ids))
    cases = " ".join(["WHEN %s THEN %s"] * len(ids))
    target = (
        f"(SELECT id FROM {table} WHERE id IN ({marks}) AND state = %s "  # noqa: S608
        "ORDER BY id FOR NO KEY UPDATE)"
        if connection.features.has_select_for_update
        else f"({marks})"
    )
    sql = (
        f"UPDATE {table} SET state = %s, assigned_at = %s, agent_id = CASE id {cases} END "  # noqa: S608
        f"WHERE state = %s AND id IN {target} RETURNING id"
    )
    params: list[Any] = [
        str(SessionState.ASSIGNED),
        connection.ops.adapt_datetimefield_value(assigned_at),
        *[n for pk in ids for n in (pk, chosen[pk])],
        str(SessionState.WAITING),
        *ids,
    ]
    if connection.features.has_select_for_update:
        params.append(str(SessionState.WAITING))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _offers_on_commit(offered: list[tuple[ChatSession, int]], *, assigned_at: dt.datetime) -> None:
    """Each offer's timer, committed with it: the offer is taken back if it is still
    not accepted when the offer timeout has passed; on the commit, each agent told of
    their offer and the consoles of the queue's change."""
    from chat.tasks import chat_offer_expire  # the tasks module imports this one

    if not offered:
        return
    expires = assigned_at + dt.timedelta(seconds=settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS)
    tasks_enqueue_with_transaction(
        [
            PlannedTask(
                task=chat_offer_expire,
                kwargs={"session_id": session.pk, "assigned_at": assigned_at.isoformat()},
                run_after=expires,
            )
            for session, _agent_id in offered
        ]
    )
    relayed: relay.Items = [
        (relay.agent_group(agent_id), {"type": "offer", "session": str(session.public_id)})
        for session, agent_id in offered
    ]
    relayed.append(
        (relay.AGENTS_GROUP, queue_changed_frame(agent_id for _session, agent_id in offered))
    )
    transaction.on_commit(partial(relay.send_many, relayed))


def _offer_on_commit(session: ChatSession, *, agent_id: int, assigned_at: dt.datetime) -> None:
    """Tell the agent about the offer and the other consoles about the queue, and take
    the offer back if it is still not accepted when the offer timeout has passed."""
    from chat.tasks import chat_offer_expire  # the tasks module imports this one

    transaction.on_commit(
        partial(
            relay.send_many,
            [
                (relay.agent_group(agent_id), {"type": "offer", "session": str(session.public_id)}),
                (relay.AGENTS_GROUP, queue_changed_frame((agent_id,))),
            ],
        )
    )
    expires = assigned_at + dt.timedelta(seconds=settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS)
    transaction.on_commit(
        partial(
            chat_offer_expire.using(run_after=expires).enqueue,
            session_id=session.pk,
            assigned_at=assigned_at.isoformat(),
        )
    )


def _withdraw_offer(locked: ChatSession, *, reason: str) -> None:
    """Put an offered (not yet accepted) chat back in the queue, in its old place."""
    agent_id = locked.agent_id
    if agent_id is not None and agent_id not in locked.passed_agent_ids:
        locked.passed_agent_ids = [*locked.passed_agent_ids, agent_id]
    locked.state, locked.agent, locked.assigned_at = SessionState.WAITING, None, None
    locked.save(update_fields=["state", "agent", "assigned_at", "passed_agent_ids"])
    if agent_id is not None:
        frame = {"type": "offer_withdrawn", "session": str(locked.public_id), "reason": reason}
        transaction.on_commit(partial(relay.send, relay.agent_group(agent_id), frame))
    _queue_changed_on_commit(agents=(agent_id,))


def chat_offer_expire(*, session_id: int, assigned_at: str) -> bool:
    """The background timer of one offer: if that offer (same agent, same moment) is
    still waiting for an accept, the chat goes back to the queue and is offered to
    someone else. Returns whether it was taken back."""
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update(no_key=True).filter(pk=session_id).first()
        if (
            locked is None
            or locked.state != SessionState.ASSIGNED
            or locked.assigned_at is None
            or locked.assigned_at != dt.datetime.fromisoformat(assigned_at)
        ):
            return False
        _withdraw_offer(locked, reason="timeout")
    chat_assign_waiting()
    return True


def chat_offers_sweep(*, grace_seconds: float | None = None) -> int:
    """Housekeeping, every ``IZONIE_CHAT_REOFFER_SECONDS`` on each worker: the offers
    nothing else would make. A socket answers a start, then offers the chats in a round
    of its own (``chat.batching.assign_soon``); a process stopped in between leaves the
    chat waiting until the next start, presence change or ended chat. An offer whose
    timer was lost (the process stopped between its commit and the task's) would stay
    with its agent for good. Chats waiting, and offers overdue, longer than
    ``grace_seconds`` (default: the sweep's period) are offered again; a chat younger
    than that is left to its own round. Returns how many chats were offered."""
    grace = dt.timedelta(
        seconds=settings.IZONIE_CHAT_REOFFER_SECONDS if grace_seconds is None else grace_seconds
    )
    now = timezone.now()
    timeout = dt.timedelta(seconds=settings.IZONIE_CHAT_OFFER_TIMEOUT_SECONDS)
    lapsed = list(
        ChatSession.objects.filter(
            state=SessionState.ASSIGNED, assigned_at__lt=now - timeout - grace
        ).values_list("pk", "assigned_at")[:200]
    )
    for session_id, assigned_at in lapsed:
        with transaction.atomic():
            locked = (
                ChatSession.objects.select_for_update(no_key=True).filter(pk=session_id).first()
            )
            if (
                locked is not None
                and locked.state == SessionState.ASSIGNED
                and locked.assigned_at == assigned_at
            ):
                logger.warning("Chat %s: its offer's timer was lost; offering it again", session_id)
                _withdraw_offer(locked, reason="timeout")
    if not lapsed and not (
        ChatSession.objects.filter(state=SessionState.WAITING, queued_at__lte=now - grace).exists()
    ):
        return 0
    return chat_assign_waiting()


def _withdraw_offers_of(agent: User) -> None:
    """An agent who goes away or offline hands back the chats offered to them."""
    offered = ChatSession.objects.select_for_update(no_key=True).filter(
        agent=agent, state=SessionState.ASSIGNED
    )
    for locked in offered:
        _withdraw_offer(locked, reason="unavailable")


def _team_member(agent: User) -> None:
    if not agent.is_agent:
        raise NotYourChat("Only the support team can do this.")


def _agent_may_act(session: ChatSession, agent: User) -> None:
    """Check on the locked row: callers may hold a copy read before an accept or a
    transfer changed who handles the chat."""
    _team_member(agent)
    if session.agent_id != agent.pk and not agent.is_supervisor:
        raise NotYourChat("This chat is handled by another agent.")


def chat_accept(*, session: ChatSession, agent: User) -> ChatSession:
    """The agent takes the chat: offered to them, or picked from the queue."""
    if not agent.is_agent:
        raise NotYourChat("Only the support team can accept chats.")
    with transaction.atomic():
        locked = _lock(session)
        if locked.is_ended:
            raise ChatEnded("This chat has ended.")
        if locked.state == SessionState.ACTIVE:
            if locked.agent_id == agent.pk:
                return locked
            raise NotYourChat("Another agent has already accepted this chat.")
        offered_elsewhere = locked.state == SessionState.ASSIGNED and locked.agent_id not in (
            None,
            agent.pk,
        )
        if offered_elsewhere and not agent.is_supervisor:
            raise NotYourChat("This chat was offered to another agent.")
        offered_to = locked.agent_id
        locked.state = SessionState.ACTIVE
        locked.agent = agent
        locked.accepted_at = timezone.now()
        locked.assigned_at = locked.assigned_at or locked.accepted_at
        locked.save(update_fields=["state", "agent", "accepted_at", "assigned_at"])
        tickets.ticket_update(ticket=locked.ticket, actor=agent, assignee=agent)
        _append(
            locked,
            kind=EntryKind.AGENT_JOINED,
            sender=Sender.SYSTEM,
            author_name=agent.display_name or str(agent),
            data={"agent": agent.display_name or str(agent)},
        )
        _queue_changed_on_commit(agents=(offered_to, agent.pk))
    return locked


def chat_agent_message(
    *,
    session: ChatSession,
    agent: User,
    client_id: str,
    text: str,
    uploads: Sequence[CheckedUpload] = (),
) -> tuple[ChatEntry, bool]:
    """Store an agent's message (with any photos or files) once per client id:
    ``chat_messages_store`` with one item, raising its error. Who handles the chat and
    its state are checked on the locked row."""
    (outcome,) = chat_messages_store(
        [MessageIn(session=session, client_id=client_id, text=text, agent=agent, uploads=uploads)]
    )
    return outcome.unwrap()


def chat_agent_note(*, session: ChatSession, agent: User, text: str) -> None:
    """An internal note on the chat: the team sees it, the customer never does."""
    text = _text_check(text)
    if not agent.is_agent:
        raise NotYourChat("Only the support team can add notes.")
    with transaction.atomic():
        message = tickets.ticket_add_note(ticket=session.ticket, author=agent, body=text)
        _relay_on_commit(
            session,
            {
                "type": "note",
                "session": str(session.public_id),
                "text": text,
                "author": agent.display_name or str(agent),
                "sent_at": message.created_at.isoformat(),
            },
            customer=False,
        )


def chat_transfer(
    *,
    session: ChatSession,
    by: User,
    to_agent: User | None = None,
    to_team: str = "",
    note: str = "",
) -> ChatSession:
    """Hand the chat to another agent (offered to them) or to a team (back to the
    queue for that team's agents). ``note``: the handover note the receiver sees on
    the desk (and the team on the ticket); never the customer."""
    note = (note or "").replace("\x00", "").strip()[:500]
    _team_member(by)
    if (to_agent is None) == (not to_team):
        raise InvalidFrame("Transfer to one agent or one team.", field="to")
    if to_agent is not None and (not to_agent.is_agent or not to_agent.is_active):
        raise InvalidFrame(f"{to_agent} is not an active agent.", field="to")
    if to_agent is not None:
        _room_check(to_agent)
    if to_team and to_team not in {t.key for t in get_policy().teams}:
        raise InvalidFrame(f"{to_team!r} is not a support team.", field="to")
    with transaction.atomic():
        locked = _lock(session)
        _agent_may_act(locked, by)
        if locked.is_ended:
            raise ChatEnded("This chat has ended.")
        _append(
            locked,
            kind=EntryKind.AGENT_LEFT,
            sender=Sender.SYSTEM,
            author_name=by.display_name or str(by),
            data={"agent": by.display_name or str(by), "transferred": True},
        )
        if to_agent is not None:
            locked.state, locked.agent = SessionState.ASSIGNED, to_agent
            locked.assigned_at, locked.wanted_team = timezone.now(), ""
            locked.passed_agent_ids = []
            _offer_on_commit(locked, agent_id=to_agent.pk, assigned_at=locked.assigned_at)
        else:
            locked.state, locked.agent, locked.wanted_team = SessionState.WAITING, None, to_team
            tickets.ticket_update(ticket=locked.ticket, actor=by, team=to_team, assignee=None)
        locked.handover_note = note
        locked.handover_by = (by.display_name or str(by)) if note else ""
        if note:
            tickets.ticket_add_note(ticket=locked.ticket, author=by, body=f"Handover: {note}")
        locked.save(
            update_fields=[
                "state",
                "agent",
                "assigned_at",
                "wanted_team",
                "passed_agent_ids",
                "handover_note",
                "handover_by",
            ]
        )
        _queue_changed_on_commit()
    chat_assign_waiting()
    return locked


def _room_check(agent: User) -> None:
    """A chat is handed only to an agent who is online and has room for it."""
    loads = {p.agent_id: (p, load) for p, load in agent_loads(current_time())}
    if agent.pk not in loads:
        raise InvalidFrame(f"{agent} is not online for chat.", field="to")
    presence, load = loads[agent.pk]
    if load >= presence.max_chats:
        raise InvalidFrame(f"{agent} has no room for another chat.", field="to")


def chat_end(
    *, session: ChatSession, by: User, reason: str = "", for_conduct: bool = False
) -> ChatSession:
    """End the chat. For conduct, ``reason`` is required, shown to the customer and
    recorded as a TERMINATED event."""
    reason = (reason or "").strip()[:500]
    by_customer = by.pk == session.customer_id
    if not by_customer:
        _team_member(by)
    if for_conduct and (by_customer or not reason):
        raise InvalidFrame("Ending a chat for conduct needs a reason.", field="reason")
    with transaction.atomic():
        locked = _lock(session)
        if locked.is_ended:
            return locked
        if not by_customer:
            _agent_may_act(locked, by)
        locked.state = SessionState.ENDED
        locked.ended_at, locked.ended_by = timezone.now(), by
        locked.end_reason, locked.ended_for_conduct = reason, for_conduct
        locked.save(
            update_fields=["state", "ended_at", "ended_by", "end_reason", "ended_for_conduct"]
        )
        _append(
            locked,
            kind=EntryKind.ENDED,
            sender=Sender.CUSTOMER if by_customer else Sender.AGENT,
            text=reason,
            author_name=by.display_name or str(by),
            data={"by": "customer" if by_customer else "agent", "for_conduct": for_conduct},
        )
        if for_conduct:
            events.session_terminated(
                ticket=locked.ticket, actor=by, channel=Channel.LIVE_CHAT, reason=reason
            )
        # A chat somebody answered is solved when it ends; an unanswered one stays
        # open so the team follows it up by email.
        if locked.ticket.first_replied_at is not None or for_conduct:
            tickets.ticket_update(ticket=locked.ticket, actor=by, status=TicketStatus.RESOLVED)
        _queue_changed_on_commit(agents=(locked.agent_id,))
    chat_assign_waiting()
    return locked


def ticket_end_for_conduct(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    """End the conversation for conduct on any channel, with a reason the customer sees.

    A live chat still running is ended through ``chat_end`` (the customer's widget shows
    the reason at once); any other conversation gets the reason as a reply on its
    channel and is closed. Both record a TERMINATED event. (Here, with the chat, since a
    live chat is ended through its session; conduct only decides.)
    """
    reason = (reason or "").strip()[: conduct.MAX_REASON_CHARS]
    if not actor.is_agent:
        raise ConductActionError("Only the support team can end a conversation for conduct.")
    if not reason:
        raise ConductActionError(
            "Tell the customer why the conversation ends: the reason is required.",
            field="reason",
        )
    session = ChatSession.objects.filter(ticket=ticket).first()
    if session is not None and not session.is_ended:
        chat_end(session=session, by=actor, reason=reason, for_conduct=True)
        ticket.refresh_from_db()
        return ticket
    with transaction.atomic():
        locked = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
        if locked.is_closed:
            raise ConductActionError(f"{locked.reference} is already closed.")
        termination = get_policy().conduct.termination
        tickets.ticket_system_reply(
            ticket=locked,
            body=f"We are ending this conversation: {reason}\n\n{termination}",
        )
        events.session_terminated(ticket=locked, actor=actor, channel=locked.channel, reason=reason)
        return tickets.ticket_update(ticket=locked, actor=actor, status=TicketStatus.CLOSED)


def chat_get(public_id: uuid.UUID | str) -> ChatSession | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    found = _SESSION_BY_PUBLIC_ID(keys=[key])
    return found[0] if found else None


def chat_transfer_by_keys(
    *,
    session: ChatSession,
    by: User,
    to_agent_id: object = None,
    to_team: str = "",
    note: str = "",
) -> ChatSession:
    to_agent = None
    if to_agent_id not in (None, ""):
        try:
            to_agent = User.objects.filter(pk=int(str(to_agent_id))).first()
        except ValueError:
            to_agent = None
        if to_agent is None:
            raise InvalidFrame("No such agent.", field="to")
    return chat_transfer(session=session, by=by, to_agent=to_agent, to_team=to_team, note=note)


def chat_transcript_request(*, session: ChatSession) -> str:
    """Queue an email of the whole chat to the customer; returns the address."""
    from chat.tasks import send_transcript

    email = session.customer.email
    if not email:
        raise InvalidFrame("There is no email address for this chat.", field="email")
    transaction.on_commit(partial(send_transcript.enqueue, session_id=session.pk))
    return email
