"""Reassignment: an agent's open, unanswered tickets go back through ``workload.routing`` to
another available agent of the ticket's team when the agent's shift ends (signed out,
"End shift", or away longer than the policy's ``workload.reassign_after_absence``) or
when the agent holds more than the team's capacity.

"Available" for ticket work is being on shift (``workload.shifts``), not live-chat
presence: an agent who goes offline for chats keeps their email, form and social
tickets. When nobody of the team is on shift, the ticket goes back to its team's
unassigned queue rather than stay with someone who left. Live chats are left to chat's
own queue; a supervisor's pin is never overridden.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from chat.availability import online_cutoff
from chat.models import AgentPresence, Presence
from policy.loader import get_policy
from tickets import events, realtime
from tickets.choices import ACTIVE_STATUSES, Channel, Direction, MessageKind, TicketStatus
from tickets.exceptions import InvalidAssignee
from tickets.models import Message, Ticket
from workload import routing
from workload.models import AssignmentPin, PresenceWatch, Reason, Reassignment

logger = logging.getLogger(__name__)

# Tickets in these statuses with the customer's message last are "unanswered".
WAITING_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN)
# A watch never fires sooner than this after it is armed (heartbeats arrive every ~30 s).
MIN_WATCH_SECONDS = 5


def available_agent_ids(*, now: dt.datetime | None = None) -> set[int]:
    """Agents on shift now: an open shift seen within the policy's absence limit."""
    from workload.shifts import on_shift_agent_ids

    return on_shift_agent_ids(now=now)


def unanswered_tickets(*, agent: User) -> QuerySet[Ticket]:
    """The agent's tickets whose customer waits for an answer, oldest first. The
    system's own messages (acknowledgements, the order-number and photo requests, the
    conduct reminder) answer nobody, so they do not count as the last word."""
    last_public = (
        Message.objects.filter(ticket=OuterRef("pk"), kind=MessageKind.REPLY)
        .exclude(direction=Direction.OUTBOUND, author__isnull=True)
        .order_by("-created_at", "-id")
        .values("direction")[:1]
    )
    return (
        Ticket.objects.filter(assignee=agent, status__in=WAITING_STATUSES)
        .exclude(channel=Channel.LIVE_CHAT)
        .exclude(assignment_pin__agent=agent)
        .annotate(last_direction=Subquery(last_public))
        .filter(last_direction=Direction.INBOUND)
        .order_by("created_at", "pk")
    )


def _move(
    *, ticket: Ticket, to_agent_id: int | None, reason: Reason, actor: User | None
) -> Reassignment:
    old = ticket.assignee_id
    ticket.assignee_id = to_agent_id
    ticket.save(update_fields=["assignee"])
    if actor is None:
        with events.acting_rule("reassignment"):
            events.reassigned(
                ticket=ticket, actor=None, old=old, new=to_agent_id, reason=str(reason)
            )
    else:
        events.reassigned(ticket=ticket, actor=actor, old=old, new=to_agent_id, reason=str(reason))
    transaction.on_commit(partial(realtime.ticket_changed, ticket_id=ticket.pk))
    return Reassignment.objects.create(
        ticket=ticket, from_agent_id=old, to_agent_id=to_agent_id, reason=reason, actor=actor
    )


def _reroute(*, ticket: Ticket, leaving: User, available: set[int], reason: Reason) -> Reassignment:
    team = get_policy().team(ticket.team)
    to_agent = None
    if team is not None:
        candidates = [
            pk for pk in routing.team_agents(team=team.key) if pk in available and pk != leaving.pk
        ]
        to_agent = routing.choose_agent_among(team=team, agents=candidates)
    return _move(ticket=ticket, to_agent_id=to_agent, reason=reason, actor=None)


@transaction.atomic
def tickets_reassign_from(*, agent: User, reason: Reason) -> list[Reassignment]:
    """Move every unanswered ticket of an agent who is no longer available."""
    available = available_agent_ids()
    if agent.pk in available and reason != Reason.OVER_CAPACITY:
        return []  # back online before this ran: nothing to do
    moved = []
    ids = list(unanswered_tickets(agent=agent).values_list("pk", flat=True))
    for ticket in Ticket.objects.select_for_update(no_key=True).filter(pk__in=ids, assignee=agent):
        moved.append(_reroute(ticket=ticket, leaving=agent, available=available, reason=reason))
    if moved:
        logger.info("Moved %s tickets from agent %s (%s)", len(moved), agent.pk, reason)
    return moved


@transaction.atomic
def agent_rebalance(*, agent: User) -> list[Reassignment]:
    """Give back the unanswered tickets an agent holds beyond each team's capacity (after
    a manual assignment, a lowered capacity): oldest waiting customers move first."""
    active = Ticket.objects.filter(assignee=agent, status__in=ACTIVE_STATUSES)
    loads: dict[str, int] = {}
    for team_key in active.values_list("team", flat=True):
        loads[team_key] = loads.get(team_key, 0) + 1
    available = available_agent_ids()
    moved: list[Reassignment] = []
    for team_key, load in loads.items():
        team = get_policy().team(team_key)
        if team is None or team.capacity is None or load <= team.capacity:
            continue
        excess = load - team.capacity
        ids = list(
            unanswered_tickets(agent=agent).filter(team=team_key).values_list("pk", flat=True)
        )[:excess]
        locked = Ticket.objects.select_for_update(no_key=True).filter(pk__in=ids, assignee=agent)
        by_id = {ticket.pk: ticket for ticket in locked.order_by("pk")}
        # Oldest waiting first, as chosen above (a locking query returns rows in any order).
        for ticket in (by_id[pk] for pk in ids if pk in by_id):
            moved.append(
                _reroute(
                    ticket=ticket, leaving=agent, available=available, reason=Reason.OVER_CAPACITY
                )
            )
    return moved


@transaction.atomic
def assignment_override(*, ticket: Ticket, supervisor: User, agent: User) -> Reassignment:
    """A supervisor puts the ticket with ``agent`` and pins it there: the automatic rules
    leave it alone until someone assigns it elsewhere."""
    if not supervisor.is_supervisor:
        raise InvalidAssignee("Only a supervisor can override an assignment.", field="agent")
    if not agent.is_agent or not agent.is_active:
        raise InvalidAssignee(f"{agent} is not an active member of the team.", field="agent")
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    AssignmentPin.objects.update_or_create(
        ticket=ticket, defaults={"agent": agent, "pinned_by": supervisor}
    )
    return _move(
        ticket=ticket, to_agent_id=agent.pk, reason=Reason.SUPERVISOR_OVERRIDE, actor=supervisor
    )


# --- Presence: the hook chat calls, and the heartbeat watch


def presence_changed(*, agent_id: int, status: str) -> None:
    """Called by ``chat.services.presence_set`` on commit. Chat presence only arms or
    disarms the heartbeat watch (which checks capacity): going offline for chats
    never moves the agent's tickets; the shift decides that (``workload.shifts``)."""
    if status in (Presence.ONLINE, Presence.AWAY):
        watch_arm(agent_id=agent_id)
    else:
        PresenceWatch.objects.filter(agent_id=agent_id).delete()


def heartbeat_seen(*, agent_id: int) -> None:
    """Called on every chat desk heartbeat: the agent is at work (the shift is seen),
    and the watch is armed when none is (an agent online since before a restart)."""
    from workload.shifts import shift_seen

    shift_seen(agent_id=agent_id)
    if PresenceWatch.objects.filter(agent_id=agent_id).exists():
        return
    if AgentPresence.objects.filter(
        agent_id=agent_id, status__in=[Presence.ONLINE, Presence.AWAY]
    ).exists():
        watch_arm(agent_id=agent_id)


def _timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.IZONIE_CHAT_PRESENCE_TIMEOUT_SECONDS)


@transaction.atomic
def watch_arm(*, agent_id: int, last_seen_at: dt.datetime | None = None) -> PresenceWatch:
    from workload.tasks import presence_check

    now = timezone.now()
    base = last_seen_at or now
    due = max(
        base + _timeout() + dt.timedelta(seconds=1),
        now + dt.timedelta(seconds=MIN_WATCH_SECONDS),
    )
    watch, _ = PresenceWatch.objects.update_or_create(agent_id=agent_id, defaults={"due_at": due})
    transaction.on_commit(
        partial(
            presence_check.using(run_after=due).enqueue,
            agent_id=agent_id,
            expected_due=due.isoformat(),
        )
    )
    return watch


def presence_check(*, agent_id: int, expected_due: str) -> str:
    """The watch fires: a fresh heartbeat re-arms it (and checks capacity); a lost one
    disarms it. A lost heartbeat is the chat desk's business (the chat queue already
    treats the agent as away); the tickets wait for the shift's own absence limit.
    Returns what it did, for tests and logs."""
    watch = PresenceWatch.objects.filter(agent_id=agent_id).first()
    if watch is None or watch.due_at.isoformat() != expected_due:
        return "superseded"
    presence = AgentPresence.objects.select_related("agent").filter(agent_id=agent_id).first()
    now = timezone.now()
    if (
        presence is not None
        and presence.status in (Presence.ONLINE, Presence.AWAY)
        and presence.last_seen_at is not None
        and presence.last_seen_at >= online_cutoff(now)
        and presence.agent.is_active
    ):
        if presence.status == Presence.ONLINE:
            agent_rebalance(agent=presence.agent)
        watch_arm(agent_id=agent_id, last_seen_at=presence.last_seen_at)
        return "online"
    watch.delete()
    return "lost"
