"""Inbound email, from any source (command, IMAP, provider webhook), into tickets.

The raw message is stored with what became of it (added to a ticket, a duplicate,
machine mail, a bounce, or quarantined with the reason) in one transaction; see
``ingest_raw`` for why nothing is lost and nothing blocks the mail behind it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat

from accounts.models import User
from accounts.services import (
    contact_for_typed_email,
    customer_for_email,
    customer_unsaved,
    customers_save,
)
from conduct.exceptions import ConductBlocked
from conduct.screening import Finding, screen_text
from core.rows_insert import rows_insert
from mail.acknowledgements import acknowledgement_text, acknowledgements_sent_recently
from mail.authentication import Evidence, SenderCheck, evidence_from_headers, sender_check
from mail.autoreply import is_our_address, machine_mail_reason, support_address
from mail.bounces import Bounce, outbound_bounced, outbound_for_bounce
from mail.conduct_notice import block_email_notice
from mail.models import (
    AutoAcknowledgement,
    EmailReference,
    EmailTicketLink,
    InboundEmail,
    InboundStatus,
)
from mail.parsing import ParsedEmail, parse_email
from policy.loader import get_policy
from tickets import events
from tickets.attachments import CheckedUpload, check_uploads
from tickets.choices import Channel, PartyRole
from tickets.exceptions import AttachmentRejected, TicketClosed
from tickets.models import Attachment, Message, Party, Ticket
from tickets.services import MAX_BODY_CHARS
from tickets.write_path import (
    MessageToAppend,
    Outcome,
    TicketToOpen,
    first_messages_open,
    messages_append,
    system_replies_add,
)

logger = logging.getLogger(__name__)

SUBJECT_TOKEN_RE = re.compile(r"\[IZS-(\d+)\]", re.IGNORECASE)
T = TypeVar("T")

REPLY_PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|aw|tr)\s*:\s*)+", re.IGNORECASE)


@functools.lru_cache(maxsize=4)
def _plus_address_re(address: str) -> re.Pattern[str]:
    local, _, domain = address.partition("@")
    return re.compile(rf"^{re.escape(local)}\+(\d+)@{re.escape(domain)}$")


def _plus_ticket_id(recipients: list[str]) -> int | None:
    pattern = _plus_address_re(support_address())
    for address in recipients:
        match = pattern.match(address)
        if match:
            return int(match.group(1))
    return None


def stored_id(message_id: str) -> str:
    """A Message-ID as stored (255 characters at most): an over-long one is replaced by
    its hash, the same way wherever it appears, so threading still finds it."""
    if len(message_id) <= 255:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _parent_ids(parsed: ParsedEmail) -> list[str]:
    """The direct parent first, then the latest ancestors."""
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    return list(dict.fromkeys(stored_id(i) for i in ids))[:100]


@dataclass
class _Lookups:
    """What the mails of one batch need to know from the database, read with one query
    each for the whole batch instead of several per mail, and kept up to date with what
    the batch itself stores (a reply may follow its original within the same batch).

    Only mails that went through are added (``_Lookups.learn``): a mail rolled back to
    its savepoint leaves no trace here either.
    """

    # Stored email messages by external id: (message pk, ticket pk).
    messages: dict[str, tuple[int, int]] = field(default_factory=dict)
    # A Message-ID named by a stored mail (In-Reply-To, References) → that mail's ticket
    # (the earliest such mail): finds the ticket of a reply that arrived before its
    # original, and of a sibling reply to the same parent.
    referenced: dict[str, int] = field(default_factory=dict)
    # Ticket pk → the lower-cased addresses of its parties (requester, copied, seller):
    # only they may join it by threading headers.
    parties: dict[int, set[str]] = field(default_factory=dict)
    # Lower-cased address → the oldest account with it, or None when there is none.
    accounts: dict[str, User | None] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    # Automatic acknowledgements sent to each sender of the batch within the window.
    acknowledged: dict[str, int] = field(default_factory=dict)
    # References and acknowledgements of this batch's mails, each written in one INSERT
    # at the end of the batch.
    new_references: list[EmailReference] = field(default_factory=list)
    new_acknowledgements: list[AutoAcknowledgement] = field(default_factory=list)
    new_links: list[EmailTicketLink] = field(default_factory=list)
    # Attachments not kept (too large, a forbidden type), recorded with the reason.
    new_refused: list[Attachment] = field(default_factory=list)
    # Addresses of the mails planned so far (accounts may have been made for them, and
    # rolled back since): their account is looked up again rather than assumed absent.
    senders_planned: set[str] = field(default_factory=set)
    # New customers of the mails planned since the last round was written, by address:
    # saved together when the next round is (``_store``).
    customers_unsaved: dict[str, User] = field(default_factory=dict)

    @classmethod
    def load(cls, wanted: list[tuple[str, ParsedEmail]]) -> _Lookups:
        """``wanted``: (external id, parsed mail) of every mail of the batch."""
        found = cls()
        ids = {i for external_id, parsed in wanted for i in (external_id, *_parent_ids(parsed))}
        # Its own Message-ID (a reply came first) and its parents (a sibling came first).
        own_ids = {stored_id(p.message_id) for _e, p in wanted if p.message_id} | ids
        addresses = {p.sender_email for _e, p in wanted}
        candidates = {i for _e, p in wanted for i in _candidate_tickets(p)}
        for chunk in _chunks(sorted(ids)):
            for external_id, message_pk, ticket_pk in Message.objects.filter(
                channel=Channel.EMAIL, external_id__in=chunk
            ).values_list("external_id", "pk", "ticket_id"):
                found.messages[external_id or ""] = (message_pk, ticket_pk)
        for chunk in _chunks(sorted(own_ids)):
            for referenced_id, ticket_pk in (
                EmailReference.objects.filter(referenced_id__in=chunk)
                .order_by("pk")
                .values_list("referenced_id", "message__ticket_id")
            ):
                found.referenced.setdefault(referenced_id, ticket_pk)
        found.accounts = dict.fromkeys(addresses)
        found.acknowledged = acknowledgements_sent_recently(addresses)
        for chunk in _chunks(sorted(addresses)):
            for account in (
                User.objects.annotate(address=Lower("email"))
                .filter(address__in=chunk)
                .order_by("-pk")  # the oldest last: it wins, as .first() did
            ):
                found.accounts[account.address] = account
        ticket_pks = {t for _m, t in found.messages.values()} | set(found.referenced.values())
        for chunk in _chunks(sorted(ticket_pks | candidates)):
            for ticket in Ticket.objects.filter(pk__in=chunk).select_related(
                "requester", "merged_into__requester"
            ):
                # A ticket merged into another (tickets/merge.py): mail naming it, by
                # subject token or plus-address, joins the surviving conversation.
                live = ticket.merged_into or ticket
                found.tickets[ticket.pk] = found.tickets[live.pk] = live
                found.parties[live.pk] = {live.requester.email.lower()}
        for chunk in _chunks(sorted({t.pk for t in found.tickets.values()})):
            for ticket_pk, address in Party.objects.filter(ticket_id__in=chunk).values_list(
                "ticket_id", "email"
            ):
                found.parties[ticket_pk].add(address.lower())
        return found

    def is_party(self, ticket: Ticket, address: str) -> bool:
        return address.lower() in self.parties.get(ticket.pk, set())

    def learn(
        self,
        *,
        external_id: str,
        parsed: ParsedEmail,
        sender: User,
        message: Message,
        acknowledgement: AutoAcknowledgement | None,
    ) -> None:
        """A mail of the batch was stored: later mails of the batch see it."""
        if acknowledgement is not None:
            recipient = acknowledgement.recipient
            self.acknowledged[recipient] = self.acknowledged.get(recipient, 0) + 1
            self.new_acknowledgements.append(acknowledgement)
        self.messages[external_id] = (message.pk, message.ticket_id)
        self.tickets[message.ticket_id] = message.ticket
        self.parties.setdefault(message.ticket_id, set()).add(parsed.sender_email)
        self.accounts[parsed.sender_email] = sender
        for ref in _parent_ids(parsed)[:MAX_REFERENCES_KEPT]:
            self.referenced.setdefault(ref, message.ticket_id)
            # Written with the batch's other references in one INSERT (_write_batch);
            # only now, so a mail rolled back to its savepoint leaves none behind.
            self.new_references.append(EmailReference(message=message, referenced_id=ref))


def _chunks(values: list[Any], size: int = 500) -> Iterable[list[Any]]:
    # Bounded IN lists: SQLite limits the parameters of one statement.
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _candidate_tickets(parsed: ParsedEmail) -> list[int]:
    """Ticket numbers the mail names: the subject token, then the plus-address."""
    candidates = []
    token = SUBJECT_TOKEN_RE.search(parsed.subject)
    if token:
        candidates.append(int(token.group(1)))
    plus = _plus_ticket_id([*parsed.to, *(addr for _n, addr in parsed.cc)])
    if plus is not None:
        candidates.append(plus)
    return candidates


def _thread_by_headers(parsed: ParsedEmail, lookups: _Lookups) -> int | None:
    """The ticket of the conversation this mail belongs to by its Message-IDs: a stored
    message it names (the direct parent first, then the latest ancestor), else a stored
    mail that names it (a reply that arrived before its original), else a stored mail
    that names one of its parents (a sibling reply that arrived first; mail is not
    delivered in order, and several replies may come before the message they answer)."""
    parents = _parent_ids(parsed)
    for parent_id in parents:
        if parent_id in lookups.messages:
            return lookups.messages[parent_id][1]
    if parsed.message_id:
        ticket_pk = lookups.referenced.get(stored_id(parsed.message_id))
        if ticket_pk is not None:
            return ticket_pk
    for parent_id in parents:
        if parent_id in lookups.referenced:
            return lookups.referenced[parent_id]
    return None


@dataclass
class _Threading:
    """Where a mail goes: ``ticket`` to join (None: a new ticket), and ``linked_to``
    when it was threaded onto a ticket whose parties do not include its sender."""

    ticket: Ticket | None = None
    linked_to: Ticket | None = None


def _thread(parsed: ParsedEmail, sender: User, lookups: _Lookups, *, verified: bool) -> _Threading:
    """The ticket this mail answers: by its threading headers (``_thread_by_headers``),
    only for a party of that ticket (anyone who saw one Message-ID of the thread could
    send the others: a stranger opens a ticket of their own, linked); then by the
    subject token or plus-address, only for the ticket's own requester, and only when
    the sender is verified (a forged From with a ticket number must not speak as the
    customer)."""
    ticket_pk = _thread_by_headers(parsed, lookups)
    ticket = lookups.tickets.get(ticket_pk) if ticket_pk is not None else None
    if ticket is not None:
        if lookups.is_party(ticket, parsed.sender_email):
            return _Threading(ticket=ticket)
        return _Threading(linked_to=ticket)
    if not verified:
        return _Threading()
    for candidate in _candidate_tickets(parsed):
        ticket = lookups.tickets.get(candidate)
        if ticket is not None and ticket.requester_id == sender.pk:
            return _Threading(ticket=ticket)
    return _Threading()


def _uploads(parsed: ParsedEmail) -> tuple[list[CheckedUpload], list[tuple[str, str, int, str]]]:
    """Attachments we keep, and (name, type, size, reason) for those we do not."""
    kept: list[CheckedUpload] = []
    refused: list[tuple[str, str, int, str]] = []
    # Checked one by one so each refusal is recorded; the per-message count is the policy's.
    limits = get_policy().attachments
    for item in parsed.attachments:
        if item.too_large or item.size > limits.max_bytes:
            # Refused before any copy of it is made.
            refused.append(
                (
                    item.filename,
                    item.content_type,
                    item.size,
                    f"{item.filename[:100]} is {filesizeformat(item.size)}; the limit is "
                    f"{filesizeformat(limits.max_bytes)} per file.",
                )
            )
            continue
        upload = SimpleUploadedFile(item.filename, item.payload, content_type=item.content_type)
        try:
            if len(kept) >= limits.max_per_message:
                raise AttachmentRejected("more attachments than one message may carry")
            kept += check_uploads([upload])
        except AttachmentRejected as exc:
            refused.append((item.filename, item.content_type, item.size, exc.message))
    if parsed.skipped_parts:
        refused.append(
            (
                "(further parts)",
                "multipart/mixed",
                0,
                f"{parsed.skipped_parts} parts beyond the first 200 were not read",
            )
        )
    return kept, refused


def _refused_rows(message: Message, refused: list[tuple[str, str, int, str]]) -> list[Attachment]:
    """The attachments of a mail we did not keep, recorded with the reason."""
    return [
        Attachment(
            message=message,
            filename=name[:255],
            content_type=ctype[:100],
            size=size,
            kept=False,
            not_kept_reason=reason[:200],
        )
        for name, ctype, size, reason in refused
    ]


# Enough for any real conversation; a mass-Cc'd mail does not flood the ticket.
MAX_COPIED_PARTIES = 50


def _copies_wanted(parsed: ParsedEmail) -> dict[str, str]:
    """Everyone else the customer wrote to (Cc, or beside us in To): address → name."""
    wanted: dict[str, str] = {}
    for name, address in [*parsed.cc, *parsed.to_named]:
        if "@" in address and address != parsed.sender_email and not is_our_address(address):
            wanted.setdefault(address[:254], name[:150])
    return wanted


def _record_copied(stored: list[_Planned]) -> dict[int, list[str]]:
    """Everyone else the customer wrote to becomes a copied party of the ticket its mail
    joined or opened, mail after mail: recorded by address only (being copied on a mail
    grants no portal access), at most ``MAX_COPIED_PARTIES`` per ticket. For a round's
    stored mails, the parties of their tickets read in one query and the new ones
    written in one INSERT. Returns, by the mail's index, the addresses added."""
    wanted = [(p, _copies_wanted(p.parsed)) for p in stored]
    wanted = [(p, copies) for p, copies in wanted if copies and p.message is not None]
    if not wanted:
        return {}
    parties: dict[int, list[tuple[str, str]]] = {}
    for p, _copies in wanted:
        assert p.message is not None
        parties[p.message.ticket_id] = []
    for ticket_pk, email, role in Party.objects.filter(ticket_id__in=list(parties)).values_list(
        "ticket_id", "email", "role"
    ):
        parties[ticket_pk].append((email, role))
    added: dict[int, list[str]] = {}
    rows: list[Party] = []
    for p, copies in wanted:
        assert p.message is not None
        ticket = p.message.ticket
        known = {email.lower() for email, _role in parties[ticket.pk]}
        known.add(ticket.requester.email.lower())
        cc = sum(1 for _email, role in parties[ticket.pk] if role == PartyRole.CC)
        new = [(a, n) for a, n in copies.items() if a not in known][
            : max(MAX_COPIED_PARTIES - cc, 0)
        ]
        for address, name in new:
            rows.append(Party(ticket=ticket, role=PartyRole.CC, name=name, email=address))
            parties[ticket.pk].append((address, PartyRole.CC))
        added[p.index] = [address for address, _name in new]
    Party.objects.bulk_create(rows)
    return added


# The direct parent and the thread's latest ancestors are enough to find a late original.
MAX_REFERENCES_KEPT = 20


def _finish(record: InboundEmail, status: str, reason: str = "", **links: object) -> None:
    """What became of the mail; saved by the caller, with the raw bytes, in one write."""
    record.status = status
    record.reason = reason[:2000]
    for name, value in links.items():
        setattr(record, name, value)


def _record_bounce(record: InboundEmail, bounce: Bounce) -> None:
    outbound = outbound_for_bounce(bounce)
    if outbound is None:
        _finish(record, InboundStatus.BOUNCE, f"not about a reply we sent: {bounce.reason}")
        return
    links = {"ticket": outbound.message.ticket, "message": outbound.message}
    if not bounce.failed:
        _finish(record, InboundStatus.BOUNCE, f"delay notice only: {bounce.reason}", **links)
        return
    marked = outbound_bounced(outbound=outbound, bounce=bounce)
    note = "reply marked failed" if marked else "reply was already marked failed"
    _finish(record, InboundStatus.BOUNCE, f"{note}: {bounce.reason}", **links)


def _external_id(raw: bytes, parsed: ParsedEmail, provider_id: str) -> str:
    # Without a Message-ID, a provider's own id for the mail (redelivered webhooks carry
    # the same one), else the bytes themselves, recognise a second delivery.
    return (
        stored_id(parsed.message_id)
        or (f"provider:{provider_id}"[:255] if provider_id else "")
        or "sha256:" + hashlib.sha256(raw).hexdigest()
    )


def _body(text: str) -> str:
    if len(text) > MAX_BODY_CHARS:
        # Long quoted histories happen; the whole message stays in the raw mail.
        note = "\n\n[Shortened here; the whole message is kept as received.]"
        return text[: MAX_BODY_CHARS - len(note)] + note
    return text


@dataclass
class _Planned:
    """A mail of the batch bound for a ticket: what the write path is given for it, and
    what it wrote (``message``; ``blocked``: the conduct block that refused it)."""

    index: int
    record: InboundEmail
    parsed: ParsedEmail
    external_id: str
    sender: User
    kept: list[CheckedUpload]
    refused: list[tuple[str, str, int, str]]
    body: str
    threading: _Threading
    screened: list[Finding] | None
    message: Message | None = None
    opened: bool = False
    blocked: str = ""
    acknowledgement: AutoAcknowledgement | None = None


class _MailFailed(Exception):
    """One mail of the batch failed (``index`` in the batch): the batch is done again
    without it, and it alone is set aside with ``error``."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index, self.error = index, error


@dataclass
class _Round:
    """Mails planned to go to the write path together."""

    planned: list[_Planned] = field(default_factory=list)
    # Their Message-IDs and the parents they name, and the tickets they join: a later
    # mail that depends on one of these waits for the round to be written.
    ids: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    tickets: set[int] = field(default_factory=set)
    # Senders whose mail of the round the conduct screening flagged: the block it may
    # bring applies to their next mail, as when mail comes one by one.
    flagged: set[str] = field(default_factory=set)
    # Each Message-ID of theirs (``_keys``) → the tickets its mail joins or links to,
    # and its senders; the senders of those that open a ticket: where a mail put off
    # that finds one of them may end (``_Waiting.hold``).
    touching: dict[str, set[int]] = field(default_factory=dict)
    senders: dict[str, set[str]] = field(default_factory=dict)
    openers: set[str] = field(default_factory=set)

    def add(self, planned: _Planned) -> None:
        self.planned.append(planned)
        self.ids.add(planned.external_id)
        self.refs.update(_parent_ids(planned.parsed)[:MAX_REFERENCES_KEPT])
        threading = planned.threading
        if threading.ticket is not None:
            self.tickets.add(threading.ticket.pk)
        sender = planned.parsed.sender_email.lower()
        if planned.screened:
            self.flagged.add(sender)
        touched = {t.pk for t in (threading.ticket, threading.linked_to) if t is not None}
        for key in _keys(planned.parsed, planned.external_id):
            self.touching.setdefault(key, set()).update(touched)
            self.senders.setdefault(key, set()).add(sender)
        if _opens(threading):
            self.openers.add(sender)

    def waits_for(self, parsed: ParsedEmail, external_id: str, lookups: _Lookups) -> bool:
        """Whether the mail's place (a duplicate, the ticket its headers thread it to, a
        ticket it names, a block for its sender) could be decided by a mail of this
        round not yet written: the same search as ``_thread_by_headers``, stopping at
        the first hit."""
        if external_id in self.ids or parsed.sender_email.lower() in self.flagged:
            return True
        parents = _parent_ids(parsed)
        for parent_id in parents:
            if parent_id in self.ids:
                return True
            if parent_id in lookups.messages:
                return False
        own = stored_id(parsed.message_id) if parsed.message_id else ""
        if own and own not in lookups.referenced and own in self.refs:
            return True
        if own in lookups.referenced:
            return False
        for parent_id in parents:
            if parent_id in lookups.referenced:
                return False
            if parent_id in self.refs:
                return True
        # Not threaded by its headers: a ticket number it names (subject token,
        # plus-address) may be one this round opens.
        return bool(self.planned) and any(
            pk not in lookups.tickets for pk in _candidate_tickets(parsed)
        )


def _keys(parsed: ParsedEmail, external_id: str) -> set[str]:
    """Every Message-ID by which the mail and another can find each other: its own, and
    all the parents it names."""
    own = stored_id(parsed.message_id) if parsed.message_id else ""
    return {external_id, own, *_parent_ids(parsed)} - {""}


def _opens(threading: _Threading) -> bool:
    """Whether a planned mail opens a ticket: it joins none, or a closed one."""
    return threading.ticket is None or threading.ticket.is_closed


@dataclass
class _Waiting:
    """Mails of the batch put off to a later round, and what a later mail of the batch
    must not overtake them on, so that each ticket gets its messages, and the batch its
    new tickets (their numbers), in the order received: its place would be decided
    before theirs, or it joins a ticket one of them may join, or it opens a ticket
    while one of them may."""

    # Their Message-IDs (``_keys``) → the stored tickets the mail may join or be linked
    # to once its turn comes, and its senders: a later mail sharing one could find it,
    # or it the later one, by its headers.
    touching: dict[str, set[int]] = field(default_factory=dict)
    senders: dict[str, set[str]] = field(default_factory=dict)
    # All those tickets together.
    tickets: set[int] = field(default_factory=set)
    # Senders of those that may open a ticket (a later mail may name its number), and
    # of those the conduct screening flagged (a block applies to their next mail).
    openers: set[str] = field(default_factory=set)
    flagged: set[str] = field(default_factory=set)

    def holds_back(self, parsed: ParsedEmail, external_id: str, lookups: _Lookups) -> bool:
        """Whether a later mail must wait behind these, before it is planned."""
        if not self.touching:
            return False
        return (
            parsed.sender_email.lower() in self.flagged
            or not self.touching.keys().isdisjoint(_keys(parsed, external_id))
            # A ticket number it names may be one they open.
            or any(pk not in lookups.tickets for pk in _candidate_tickets(parsed))
        )

    def holds_planned(self, planned: _Planned) -> bool:
        """Whether a planned mail must wait behind these: it joins or is linked to a
        ticket one of them may end on, or opens a ticket while one of them may."""
        threading = planned.threading
        if self.openers and _opens(threading):
            return True
        return any(
            t is not None and t.pk in self.tickets for t in (threading.ticket, threading.linked_to)
        )

    def hold(
        self, item: _Received, lookups: _Lookups, batch: _Round, planned: _Planned | None
    ) -> None:
        """Put a mail off. The tickets it may end on are every stored ticket it could
        reach: by the Message-IDs it names (stored, or of a mail of the round or put
        off that it could find), by a ticket number it names, or the one it was
        planned for."""
        parsed = item.parsed
        assert parsed is not None and item.check is not None
        sender = parsed.sender_email.lower()
        keys = _keys(parsed, item.external_id)
        tickets: set[int] = set(_candidate_tickets(parsed))
        for key in keys:
            if key in lookups.messages:
                tickets.add(lookups.messages[key][1])
            if key in lookups.referenced:
                tickets.add(lookups.referenced[key])
            tickets.update(batch.touching.get(key, ()))
            tickets.update(self.touching.get(key, ()))
        if planned is not None:
            threading = planned.threading
            tickets.update(t.pk for t in (threading.ticket, threading.linked_to) if t is not None)
            opens = _opens(threading)
        else:
            opens = not self._follows_own_mail(
                parsed, keys, lookups, batch, verified=item.check.verified
            )
        # A merged ticket's mail goes to the one it was merged into.
        live = {lookups.tickets[pk].pk if pk in lookups.tickets else pk for pk in tickets}
        for key in keys:
            self.touching.setdefault(key, set()).update(live)
            self.senders.setdefault(key, set()).add(sender)
        self.tickets.update(live)
        if opens:
            self.openers.add(sender)
        if item.screened:
            self.flagged.add(sender)

    def _follows_own_mail(
        self,
        parsed: ParsedEmail,
        keys: set[str],
        lookups: _Lookups,
        batch: _Round,
        *,
        verified: bool,
    ) -> bool:
        """Whether a mail put off before it was planned will join a ticket rather than
        open one: it names a mail of its own sender in the batch (or, verified, the
        number of a ticket its sender opens in the batch), and no stored ticket it
        would find first refuses it. A reply whose original was refused (a conduct
        block) opens a ticket all the same: its number then follows the batch's."""
        sender = parsed.sender_email.lower()
        follows = any(
            sender in batch.senders.get(key, ()) or sender in self.senders.get(key, ())
            for key in keys
        )
        if not follows and verified:
            unknown = any(pk not in lookups.tickets for pk in _candidate_tickets(parsed))
            follows = unknown and (sender in batch.openers or sender in self.openers)
        if not follows:
            return False
        stored = _thread_by_headers(parsed, lookups)
        if stored is None:
            return True
        ticket = lookups.tickets.get(stored)
        return ticket is not None and not ticket.is_closed and lookups.is_party(ticket, sender)


def _process(
    record: InboundEmail,
    parsed: ParsedEmail,
    external_id: str,
    lookups: _Lookups,
    check: SenderCheck,
    screened: list[Finding] | None = None,
    automatic: str = "",
) -> None:
    """One mail alone: the batch's steps with a round of one."""
    planned = _plan(0, record, parsed, external_id, lookups, check, screened, automatic)
    if planned is not None:
        _store([planned], lookups)


def _plan(
    index: int,
    record: InboundEmail,
    parsed: ParsedEmail,
    external_id: str,
    lookups: _Lookups,
    check: SenderCheck,
    screened: list[Finding] | None = None,
    automatic: str = "",
) -> _Planned | None:
    """What becomes of the mail: finished here (a duplicate, our own, a bounce, machine
    mail, a forged agent), or planned for a ticket, the sender's account made.
    ``automatic``: why it is machine mail, as ``_receive`` found ("" for a person's)."""
    existing = lookups.messages.get(external_id)
    if existing is not None:
        message_pk, ticket_pk = existing
        _finish(
            record,
            InboundStatus.DUPLICATE,
            f"already stored as message {message_pk}",
            ticket_id=ticket_pk,
            message_id=message_pk,
        )
        return None
    if is_our_address(parsed.sender_email):
        _finish(record, InboundStatus.IGNORED, "our own outgoing mail")
        return None
    if parsed.bounce is not None:
        _record_bounce(record, parsed.bounce)
        return None
    if automatic:
        # Kept, but no ticket: nothing automatic answers it (RFC 3834).
        _finish(record, InboundStatus.IGNORED, f"machine-sent ({automatic})")
        return None
    account = lookups.accounts.get(parsed.sender_email)
    if account is not None and account.is_active and account.is_agent:
        _finish(
            record,
            InboundStatus.QUARANTINED,
            "sent from a support-team address; agents answer in the console, and a "
            "forged From must not speak for them",
        )
        return None
    sender_name = parsed.sender_name or parsed.sender_email
    if not check.verified:
        # The receiving side says the From: is not proven: the mail is filed under the
        # address's unverified contact, never the account (no orders, no history of it).
        sender = contact_for_typed_email(email=parsed.sender_email, name=sender_name)
    elif account is not None and account.is_customer:
        sender = account
    elif account is None and parsed.sender_email in lookups.customers_unsaved:
        sender = lookups.customers_unsaved[parsed.sender_email]
    elif account is None and parsed.sender_email not in lookups.senders_planned:
        # The batch read every address at its start and no account has this one, and no
        # mail of the batch made one since: made without looking again, and saved with
        # the round's other new customers in one INSERT.
        sender = customer_unsaved(email=parsed.sender_email, name=sender_name)
        lookups.customers_unsaved[parsed.sender_email] = sender
    else:
        sender = customer_for_email(email=parsed.sender_email, name=sender_name)
    lookups.senders_planned.add(parsed.sender_email)
    kept, refused = _uploads(parsed)
    return _Planned(
        index=index,
        record=record,
        parsed=parsed,
        external_id=external_id,
        sender=sender,
        kept=kept,
        refused=refused,
        body=_body(parsed.text) or ("(no text)" if not kept else ""),
        threading=_thread(parsed, sender, lookups, verified=check.verified),
        screened=screened,
    )


def _store(planned: list[_Planned], lookups: _Lookups) -> None:
    """Write a round of planned mails through the write path, in two batches: the
    messages on existing tickets, then the new tickets (with a mail whose ticket turned
    out to be closed). Then each mail's own rest, in order. A mail that fails raises
    ``_MailFailed``."""
    customers_save(list(lookups.customers_unsaved.values()))
    lookups.customers_unsaved.clear()
    appending = [p for p in planned if p.threading.ticket is not None]
    to_append = [
        MessageToAppend(
            ticket=p.threading.ticket,
            author=p.sender,
            body=p.body,
            uploads=p.kept,
            channel=Channel.EMAIL,
            body_html=p.parsed.html,
            external_id=p.external_id,
            screened=p.screened,
        )
        for p in appending
        if p.threading.ticket is not None
    ]
    # A call of the write path with nothing to write would still cost its savepoint.
    appended = messages_append(to_append) if to_append else []
    for p, outcome in zip(appending, appended, strict=True):
        if isinstance(outcome.error, TicketClosed):
            continue  # a new ticket instead, below
        p.message = _unwrapped(p, outcome)
    opening = [p for p in planned if p.message is None]
    to_open = [
        TicketToOpen(
            requester=p.sender,
            channel=Channel.EMAIL,
            body=p.body,
            subject=REPLY_PREFIX_RE.sub("", SUBJECT_TOKEN_RE.sub("", p.parsed.subject)).strip(),
            uploads=p.kept,
            body_html=p.parsed.html,
            external_id=p.external_id,
            author_name=p.parsed.sender_name,
            screened=p.screened,
        )
        for p in opening
    ]
    # The customer's own first messages (the system may already have replied, asking for
    # an order number, say), as the write path wrote them.
    opened = first_messages_open(to_open) if to_open else []
    new: list[_Planned] = []
    for p, opened_one in zip(opening, opened, strict=True):
        if isinstance(opened_one.error, ConductBlocked):
            p.blocked = opened_one.error.message
            continue
        p.message = _unwrapped(p, opened_one)
        p.opened = True
        new.append(p)
    _acknowledged(new, lookups)
    # A failure here is no one mail's: the batch is then done mail by mail.
    copied = _record_copied(planned)
    for p in planned:
        try:
            _store_rest(p, lookups, copied.get(p.index, []))
        except Exception as exc:
            raise _MailFailed(p.index, exc) from exc


def _acknowledged(opened: list[_Planned], lookups: _Lookups) -> None:
    """The acknowledgements of the round's new tickets, in order, written together by
    the write path; each sender's quota counts the ones planned before it in the round."""
    planned: list[tuple[_Planned, str]] = []
    counted: Counter[str] = Counter()
    for p in opened:
        assert p.message is not None
        ticket = p.message.ticket
        recipient = ticket.requester.email.lower()
        sent = lookups.acknowledged.get(recipient)
        if sent is None:
            sent = acknowledgements_sent_recently([recipient])[recipient]
            lookups.acknowledged[recipient] = sent
        try:
            body = acknowledgement_text(ticket=ticket, sent_recently=sent + counted[recipient])
        except Exception as exc:
            raise _MailFailed(p.index, exc) from exc
        if body is not None:
            counted[recipient] += 1
            planned.append((p, body))
    messages = system_replies_add([(p.message.ticket, body) for p, body in planned if p.message])
    for (p, _body), message in zip(planned, messages, strict=True):
        p.acknowledgement = AutoAcknowledgement(
            recipient=message.ticket.requester.email.lower(), ticket=message.ticket, message=message
        )


def _unwrapped(planned: _Planned, outcome: Outcome[T]) -> T:
    try:
        return outcome.unwrap()
    except Exception as exc:
        raise _MailFailed(planned.index, exc) from exc


def _store_rest(planned: _Planned, lookups: _Lookups, copied: list[str]) -> None:
    """A mail's own rest once the write path has stored it: the acknowledgement, its
    refused attachments, a link, its record; ``copied``: the parties it added."""
    record, parsed = planned.record, planned.parsed
    if planned.blocked:
        # Not quarantined (nothing for an admin to fix): kept raw with the reason,
        # and the sender is told once per block when they may write again.
        block_email_notice(customer=planned.sender, message=planned.blocked)
        _finish(record, InboundStatus.IGNORED, f"sender blocked for conduct: {planned.blocked}")
        return
    message = planned.message
    assert message is not None
    ticket = message.ticket
    acknowledgement = planned.acknowledgement
    lookups.parties.setdefault(ticket.pk, set()).update(copied)
    linked_to = planned.threading.linked_to
    if linked_to is not None and linked_to.pk != ticket.pk:
        lookups.new_links.append(
            EmailTicketLink(
                ticket=ticket,
                linked_to=linked_to,
                message=message,
                reason=(
                    f"{parsed.sender_email} answered a message of {linked_to.reference}"
                    " but is not one of its parties"
                )[:300],
            )
        )
    _finish(record, InboundStatus.PROCESSED, ticket=ticket, message=message)
    lookups.learn(
        external_id=planned.external_id,
        parsed=parsed,
        sender=planned.sender,
        message=message,
        acknowledgement=acknowledgement,
    )
    # Last, like ``learn``: a mail that failed before it leaves none behind.
    lookups.new_refused += _refused_rows(message, planned.refused)


# Above this, PostgreSQL gets the raw bytes as a binary parameter (see _save).
LARGE_RAW_BYTES = 1024 * 1024


def _save(record: InboundEmail) -> None:
    """Save the record. Django's psycopg cursors bind parameters on the client, which
    writes bytes into the SQL text as hex: a 68 MB mail took about 400 MB. A large raw
    mail is written separately as a binary server-side parameter instead."""
    raw = bytes(record.raw)
    if connection.vendor != "postgresql" or len(raw) <= LARGE_RAW_BYTES:
        record.save()
        return
    import psycopg

    record.raw = b""
    record.save()
    connection.ensure_connection()
    table = connection.ops.quote_name(InboundEmail._meta.db_table)
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"UPDATE {table} SET raw = %b WHERE id = %s", [raw, record.pk])  # noqa: S608
    record.raw = raw


def ingest_raw(
    *,
    raw: bytes,
    source: str = "command",
    provider_id: str = "",
    evidence: Evidence | None = None,
) -> InboundEmail:
    """Store one raw email and what became of it, in one transaction.

    Every source gives the mail up only after this has committed (the IMAP fetcher
    marks it afterwards, a webhook answers 200 afterwards, a Postfix pipe gets our exit
    status), so a crash before the commit loses nothing: the mail is delivered again.
    Whatever goes wrong in processing rolls back to a savepoint, and the raw mail is
    still stored, quarantined with the reason, without holding up the next one.

    ``evidence``: a provider webhook's own authentication verdict for the mail; without
    it, the Authentication-Results header of a trusted authserv-id is read.
    """
    return _ingest([(raw, provider_id, evidence)], source=source)[0]


def ingest_many(raws: Iterable[bytes], *, source: str = "command") -> list[InboundEmail]:
    """Several emails in one transaction (one commit): what one does wrong touches none
    of the others (see ``_ingest_without_savepoints``). The caller gives the batch up at
    the source only after this returns.

    What the batch needs to know (stored Message-IDs, accounts, tickets) is read once
    when it starts: a parent committed by another intake process (a webhook beside the
    IMAP fetcher) while the batch runs is not seen by it, and a reply to it in this
    batch opens a ticket of its own.
    """
    return _ingest([(raw, "", None) for raw in raws], source=source)


@dataclass
class _Received:
    """One raw mail of a batch, parsed (or why it could not be)."""

    raw: bytes
    source: str
    parsed: ParsedEmail | None
    external_id: str = ""
    unparseable: str = ""
    check: SenderCheck | None = None
    # The conduct verdict on its text, reached before the batch's transaction (which on
    # SQLite holds the write lock); acted on only if the sender is a customer.
    screened: list[Finding] | None = None
    # Why it is machine mail by its headers (RFC 3834), read once; "" for a bounce.
    automatic: str = ""

    def record(self) -> InboundEmail:
        """A fresh record for it: made again when the batch is done again."""
        record = InboundEmail(raw=self.raw, source=self.source)
        if self.parsed is None:
            _finish(record, InboundStatus.QUARANTINED, self.unparseable)
        else:
            record.header_id = self.parsed.message_id[:998]
            record.sender = self.parsed.sender_email[:320]
            record.subject = self.parsed.subject[:300]
        if self.check is not None:
            record.sender_verified = self.check.verified
            record.authentication = self.check.as_json()
        return record


def _receive(raw: bytes, provider_id: str, source: str, evidence: Evidence | None) -> _Received:
    try:
        parsed = parse_email(raw, max_attachment_bytes=get_policy().attachments.max_bytes)
    except Exception as exc:  # UnparseableEmail, or a parser bug: the raw is kept
        return _Received(raw, source, None, unparseable=str(exc) or type(exc).__name__)
    if evidence is None:
        evidence = evidence_from_headers(raw)
    check = sender_check(evidence, from_address=parsed.sender_email)
    # Machine mail (bounces, auto-replies, lists, newsletters, feed gateways) opens no
    # ticket and is not a customer's conduct: it is never screened, so never blocked.
    automatic = "" if parsed.bounce is not None else parsed.automatic or machine_mail_reason(raw)
    screened = (
        None
        if parsed.bounce is not None or automatic
        else screen_text(_body(parsed.text), screening=get_policy().conduct.screening)
    )
    external_id = _external_id(raw, parsed, provider_id)
    return _Received(
        raw, source, parsed, external_id, check=check, screened=screened, automatic=automatic
    )


def _ingest(items: list[tuple[bytes, str, Evidence | None]], *, source: str) -> list[InboundEmail]:
    """Parse every mail of the batch, read what they need to know from the database
    in a few queries (``_Lookups``), store their tickets and messages through the write
    path a batch at a time (``_ingest_together``), then write the records and references
    of the whole batch together, in one transaction."""
    received = [_receive(raw, pid, source, evidence) for raw, pid, evidence in items]
    wanted = [(r.external_id, r.parsed) for r in received if r.parsed is not None]
    with transaction.atomic():
        together = _ingest_together(received, wanted) if len(wanted) > 1 else None
        alone: Iterable[int]
        if together is not None:
            records, lookups, alone = together
        else:
            lookups = _Lookups.load(wanted)
            records = [item.record() for item in received]
            alone = range(len(received))
        for index in alone:
            item = received[index]
            if item.parsed is not None and item.check is not None:
                _process_one(
                    records[index],
                    item.parsed,
                    item.external_id,
                    lookups,
                    item.check,
                    item.screened,
                    item.automatic,
                )
        _write_batch(records, lookups)
    return records


# Mails of one batch left out one after another (each then done alone) before the batch is
# done mail by mail instead.
MAX_LEFT_OUT = 3


def _ingest_together(
    received: list[_Received], wanted: list[tuple[str, ParsedEmail]]
) -> tuple[list[InboundEmail], _Lookups, list[int]] | None:
    """The usual case: the whole batch in one savepoint, its tickets and messages written
    by the write path in one batch each (``_store_rounds``). A mail that fails is left
    out and the batch done again without it; the mails left out are returned, to be done
    alone, each in its own savepoint, so a failure is set aside alone as always. None
    when that does not settle it: the batch is then done mail by mail."""
    left_out: list[int] = []
    while len(left_out) <= MAX_LEFT_OUT:
        records = [item.record() for item in received]
        try:
            # Every round's events (and the reports' marks that follow them) in one
            # INSERT each for the batch, not one per write-path call.
            with transaction.atomic(), events.recorded_together():
                lookups = _Lookups.load(wanted)
                _store_rounds(received, records, lookups, left_out=set(left_out))
        except (OperationalError, InterfaceError):
            raise  # the database itself is in trouble: the whole batch is tried again later
        except _MailFailed as failed:
            logger.info("Mail %s of the batch failed: leaving it out", failed.index, exc_info=True)
            if failed.index in left_out:
                return None
            left_out.append(failed.index)
            continue
        except Exception:
            logger.info("A mail of the batch failed: doing the batch mail by mail", exc_info=True)
            return None
        return records, lookups, sorted(left_out)
    return None


def _store_rounds(
    received: list[_Received],
    records: list[InboundEmail],
    lookups: _Lookups,
    *,
    left_out: set[int],
) -> None:
    """Plan the mails in order and hand them to the write path a round at a time. A
    round takes every mail whose place depends on no mail of the batch still to be
    written: a mail that depends on one planned in the round (a reply to it, a copy of
    it, a ticket number it opens, a sender it may make a party or its flag may block) is
    put off to the next round, and so is every later mail that could overtake one put
    off (``_Waiting``). So a batch takes about as many rounds as its longest chain of
    replies (before, a reply to a mail of the same round started a round), each ticket
    gets its messages, and the batch its ticket numbers, in the order received."""
    waiting: list[tuple[int, _Planned | None]] = [
        (index, None)
        for index, item in enumerate(received)
        if index not in left_out and item.parsed is not None and item.check is not None
    ]
    while waiting:
        batch, later = _Round(), _Waiting()
        put_off: list[tuple[int, _Planned | None]] = []
        for index, planned in waiting:
            item = received[index]
            parsed, check = item.parsed, item.check
            assert parsed is not None and check is not None
            if later.holds_back(parsed, item.external_id, lookups) or batch.waits_for(
                parsed, item.external_id, lookups
            ):
                later.hold(item, lookups, batch, planned)
                put_off.append((index, planned))
                continue
            try:
                if planned is None:
                    planned = _plan(
                        index,
                        records[index],
                        parsed,
                        item.external_id,
                        lookups,
                        check,
                        item.screened,
                        item.automatic,
                    )
                else:
                    # Planned in an earlier round, and put off: its place may have changed.
                    planned.threading = _thread(
                        parsed, planned.sender, lookups, verified=check.verified
                    )
            except Exception as exc:
                raise _MailFailed(index, exc) from exc
            if planned is None:
                continue
            linked_to = planned.threading.linked_to
            if later.holds_planned(planned) or (
                # Its sender may be made a party of that ticket by a mail of the round.
                linked_to is not None and linked_to.pk in batch.tickets
            ):
                later.hold(item, lookups, batch, planned)
                put_off.append((index, planned))
                continue
            batch.add(planned)
        _store(batch.planned, lookups)
        waiting = put_off


def _process_one(
    record: InboundEmail,
    parsed: ParsedEmail,
    external_id: str,
    lookups: _Lookups,
    check: SenderCheck,
    screened: list[Finding] | None = None,
    automatic: str = "",
) -> None:
    try:
        with transaction.atomic():
            _process(record, parsed, external_id, lookups, check, screened, automatic)
    except Exception as exc:
        error = exc.error if isinstance(exc, _MailFailed) else exc
        record.ticket = record.message = None
        lookups.customers_unsaved.clear()  # rolled back, or never saved
        if (
            isinstance(error, IntegrityError)
            and Message.objects.filter(channel=Channel.EMAIL, external_id=external_id).exists()
        ):
            # The same Message-ID stored concurrently by another fetcher: a duplicate.
            _finish(record, InboundStatus.DUPLICATE, "stored concurrently by another intake")
            return
        logger.error("Inbound email from %s quarantined", parsed.sender_email, exc_info=error)
        _finish(record, InboundStatus.QUARANTINED, f"{type(error).__name__}: {error}")


# Raw bytes per multi-row INSERT of records: the memory one statement holds (on PostgreSQL
# a binary array, or hex in the SQL text for a few rows; core.rows_insert).
WRITE_BATCH_BYTES = 4 * 1024 * 1024


def _write_batch(records: list[InboundEmail], lookups: _Lookups) -> None:
    """The batch's records and references, in a few multi-row INSERTs instead of one
    or two per mail; in the batch's transaction, so committed with the mail or not at
    all. A large raw mail is saved on its own (see ``_save``)."""
    rows_insert(lookups.new_references)
    rows_insert(lookups.new_acknowledgements)
    rows_insert(lookups.new_links)
    rows_insert(lookups.new_refused)
    lookups.new_references, lookups.new_acknowledgements, lookups.new_links = [], [], []
    lookups.new_refused = []
    chunk: list[InboundEmail] = []
    size = 0
    for record in records:
        raw_size = len(record.raw)
        if raw_size > LARGE_RAW_BYTES:
            _save(record)
            continue
        if chunk and size + raw_size > WRITE_BATCH_BYTES:
            rows_insert(chunk)
            chunk, size = [], 0
        chunk.append(record)
        size += raw_size
    rows_insert(chunk)


def inbound_retry(*, record: InboundEmail) -> InboundEmail:
    """An admin retries a quarantined email (after fixing what was wrong)."""
    if record.status != InboundStatus.QUARANTINED:
        return record
    # A provider's verdict is not in the raw mail: the one stored with it is used again.
    evidence = (
        Evidence.from_json(record.authentication) if record.source.startswith("webhook:") else None
    )
    retried = ingest_raw(raw=bytes(record.raw), source=f"retry of {record.pk}", evidence=evidence)
    _finish(record, InboundStatus.QUARANTINED, f"{record.reason} (retried as {retried.pk})")
    record.save(update_fields=["status", "reason"])
    return retried
