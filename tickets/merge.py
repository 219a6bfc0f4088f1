"""Merging duplicates: one requester's tickets become one conversation.

The sources' messages (with their attachments, deliveries and email references) move
to the target, so they interleave with its own in the order they were written; each
source is closed with a pointer (``Ticket.merged_into``) and both sides record the
merge in their history. The target's reply clocks are recomputed from the merged
thread. Because the messages keep their channel ids, a reply to an old email thread
finds the target by its headers; a reply naming the old ``[IZS-n]`` and the customer
portal's old address follow the pointer (``surviving``).

Statements: a fixed number per merge (plus one per source for its own close), never
one per message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from accounts.models import User
from core.errors import UserError
from sla import services as sla
from tickets import events, realtime
from tickets.choices import (
    Direction,
    MessageKind,
    PartyRole,
    Priority,
    TicketKind,
    TicketStatus,
)
from tickets.models import Message, Party, Tag, Ticket
from tickets.services import _set_priority, _touch, set_status

MAX_SOURCES = 20
PRIORITY_RANK = {p: rank for rank, p in enumerate(Priority.values)}


class MergeRefused(UserError):
    code = "merge_refused"


@dataclass(frozen=True)
class MergePreview:
    """What a merge would move, for the confirmation the agent sees first."""

    target: Ticket
    sources: list[Ticket]
    messages: int
    attachments: int


def surviving(ticket: Ticket) -> Ticket:
    """The ticket whose conversation ``ticket`` is part of now: itself, or the ticket it
    was merged into (merges are kept one hop deep, see ``tickets_merge``)."""
    if ticket.merged_into_id is None:
        return ticket
    return ticket.merged_into or ticket


def merge_candidates(*, ticket: Ticket) -> list[Ticket]:
    """The requester's other tickets ``ticket`` may be merged into, newest first."""
    return list(
        Ticket.objects.filter(requester_id=ticket.requester_id, merged_into__isnull=True)
        .exclude(pk=ticket.pk)
        .exclude(status=TicketStatus.CLOSED)
        .order_by("-updated_at", "-id")[:50]
    )


def _check(*, target: Ticket, sources: Sequence[Ticket], actor: User) -> None:
    if not actor.is_authenticated or not actor.is_agent:
        raise MergeRefused("Only the support team may merge tickets.")
    if not sources:
        raise MergeRefused("Choose at least one ticket to merge.")
    if len(sources) > MAX_SOURCES:
        raise MergeRefused(f"Merge at most {MAX_SOURCES} tickets at once.")
    for ticket in (target, *sources):
        if ticket.merged_into_id is not None:
            raise MergeRefused(f"{ticket.reference} was already merged into another ticket.")
        if ticket.status == TicketStatus.CLOSED:
            raise MergeRefused(f"{ticket.reference} is closed; only open tickets can be merged.")
    if any(source.pk == target.pk for source in sources):
        raise MergeRefused(f"{target.reference} cannot be merged into itself.")
    for source in sources:
        if source.requester_id != target.requester_id:
            raise MergeRefused(
                f"{source.reference} and {target.reference} have different requesters; "
                "only one customer's tickets can be merged."
            )
        if source.kind == TicketKind.DISPUTE:
            raise MergeRefused(
                f"{source.reference} carries a dispute with a seller; merge the other "
                "tickets into it instead."
            )
    from chat.models import ChatSession

    live_chat = ChatSession.objects.filter(
        ticket__in=[s.pk for s in sources], ended_at__isnull=True
    ).first()
    if live_chat is not None:
        raise MergeRefused(
            f"IZS-{live_chat.ticket_id} is a chat still in progress; end it before merging."
        )


def merge_preview(*, target: Ticket, sources: Sequence[Ticket], actor: User) -> MergePreview:
    """What ``tickets_merge`` would move, checked the same way (raises ``MergeRefused``)."""
    _check(target=target, sources=sources, actor=actor)
    from tickets.models import Attachment

    ids = [s.pk for s in sources]
    return MergePreview(
        target=target,
        sources=list(sources),
        messages=Message.objects.filter(ticket_id__in=ids).count(),
        attachments=Attachment.objects.filter(message__ticket_id__in=ids).count(),
    )


@transaction.atomic
def tickets_merge(*, target: Ticket, sources: Sequence[Ticket], actor: User) -> Ticket:
    """Merge ``sources`` into ``target`` (all of one requester); returns the target.

    Raises ``MergeRefused`` (nothing changed) for a customer or anyone not an agent,
    different requesters, closed or already merged tickets, disputes as sources and
    chats still in progress.
    """
    if not actor.is_authenticated or not actor.is_agent:
        raise MergeRefused("Only the support team may merge tickets.")
    ids = sorted({target.pk, *(s.pk for s in sources)})
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    }
    if target.pk not in locked:
        raise MergeRefused("That ticket no longer exists.")
    target = locked[target.pk]
    wanted = {s.pk for s in sources}
    merged = [locked[pk] for pk in wanted if pk in locked and pk != target.pk]
    if len(merged) != len(wanted):
        raise MergeRefused(
            f"{target.reference} cannot be merged into itself."
            if any(s.pk == target.pk for s in sources)
            else "One of those tickets no longer exists."
        )
    merged.sort(key=lambda t: (t.created_at, t.pk))
    _check(target=target, sources=merged, actor=actor)
    now = timezone.now()
    source_ids = [s.pk for s in merged]

    counts = dict(
        Message.objects.filter(ticket_id__in=source_ids)
        .values_list("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    moved = Message.objects.filter(ticket_id__in=source_ids).update(ticket=target)
    from conduct.models import ConductFlag

    ConductFlag.objects.filter(ticket_id__in=source_ids).update(ticket=target)
    _move_parties(target=target, source_ids=source_ids)
    _move_escalations(target=target, source_ids=source_ids)
    target.tags.add(*Tag.objects.filter(tickets__in=source_ids).distinct())
    # Tickets merged earlier into a source now point at the target: one hop, always.
    Ticket.objects.filter(merged_into_id__in=source_ids).update(merged_into=target)

    fields = []
    replied = [t.first_replied_at for t in (target, *merged) if t.first_replied_at]
    if replied and min(replied) != target.first_replied_at:
        target.first_replied_at = min(replied)
        fields.append("first_replied_at")
    if not target.order_number:
        number = next((s.order_number for s in merged if s.order_number), "")
        if number:
            target.order_number = number
            fields.append("order_number")
    if fields:
        target.save(update_fields=fields)
    highest = max((target, *merged), key=lambda t: PRIORITY_RANK.get(t.priority, 0)).priority
    if highest != target.priority:
        _set_priority(ticket=target, actor=actor, priority=Priority(highest))

    for source in merged:
        source.merged_into = target
        source.message_count = 0
        source.save(update_fields=["merged_into", "message_count"])
        set_status(ticket=source, actor=actor, status=TicketStatus.CLOSED)
        events.merged_into(
            ticket=source, target=target, actor=actor, messages=counts.get(source.pk, 0)
        )
    events.merged_from(ticket=target, sources=merged, actor=actor, messages=moved)

    owed_since = _owed_since(target)
    if owed_since is not None and target.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        # The merged thread holds a customer message nobody answered: it is the team's turn.
        set_status(ticket=target, actor=actor, status=TicketStatus.OPEN)
    sla.on_conversation_merged(ticket=target, owed_since=owed_since, at=now)
    _touch(target, messages=moved)
    for ticket_id in (target.pk, *source_ids):
        transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket_id))
    return target


def _move_parties(*, target: Ticket, source_ids: list[int]) -> None:
    """Copied people and sellers of the sources join the target (once each)."""
    known_users, known_emails = set(), set()
    for user_id, email in Party.objects.filter(ticket=target).values_list("user_id", "email"):
        if user_id is not None:
            known_users.add(user_id)
        if email:
            known_emails.add(email.lower())
    moving = []
    for party in Party.objects.filter(ticket_id__in=source_ids).exclude(role=PartyRole.REQUESTER):
        if party.user_id in known_users or (party.email and party.email.lower() in known_emails):
            continue
        if party.user_id is not None:
            known_users.add(party.user_id)
        if party.email:
            known_emails.add(party.email.lower())
        moving.append(party.pk)
    if moving:
        Party.objects.filter(pk__in=moving).update(ticket=target)


def _move_escalations(*, target: Ticket, source_ids: list[int]) -> None:
    """The sources' escalations follow the conversation; a supervisor's open promise to
    contact the customer too, unless the target already has one (one open per ticket)."""
    from sla.models import Escalation, EscalationStatus

    Escalation.objects.filter(ticket_id__in=source_ids).exclude(
        status=EscalationStatus.OPEN
    ).update(ticket=target)
    if not Escalation.objects.filter(ticket=target, status=EscalationStatus.OPEN).exists():
        first_open = (
            Escalation.objects.filter(ticket_id__in=source_ids, status=EscalationStatus.OPEN)
            .order_by("contact_due_at")
            .values_list("pk", flat=True)
            .first()
        )
        if first_open is not None:
            Escalation.objects.filter(pk=first_open).update(ticket=target)


def _owed_since(ticket: Ticket) -> dt.datetime | None:
    """The first customer message after the last public reply by someone, or None."""
    public = Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY)
    # Answers from people: an automatic acknowledgement or question answers nothing.
    last_out = public.filter(direction=Direction.OUTBOUND, author__isnull=False).aggregate(
        at=Max("created_at")
    )["at"]
    inbound = public.filter(direction=Direction.INBOUND)
    if last_out is not None:
        inbound = inbound.filter(created_at__gt=last_out)
    return inbound.aggregate(at=Min("created_at"))["at"]
