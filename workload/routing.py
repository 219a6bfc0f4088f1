"""Assignment of new conversations to agents of the ticket's team, by the team's strategy.

Agents are the team's active members (``User.teams``). Presence (who is online now) belongs
to live chat and is not consulted here yet; ``team_agents`` is the one place to add it.

Here, with shifts and reassignment, as the home of "who gets this conversation" (it was
``triage.routing``; the rotation's rows are still ``triage.models.TeamRotation``). Live
chat's presence and offers are the part still in ``chat``: docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from accounts.models import STAFF_ROLES, User
from policy.loader import get_policy
from policy.schema import Team
from tickets import events
from tickets.choices import ACTIVE_STATUSES, EventKind
from tickets.models import Ticket
from triage.models import TeamRotation

# Least-loaded assignment reads a snapshot of the team's loads, refreshed when older than
# this, and counts its own assignments into it: counting every active conversation of a
# 500-agent team costs ~5 ms on PostgreSQL, more than the choice is allowed. Conversations
# solved since the snapshot show up at the next refresh.
LOAD_SNAPSHOT_SECONDS = 10
# Round robin checks capacity for the next few agents in turn only.
ROUND_ROBIN_BATCH = 10


# Who is in a team changes rarely and is read for every new ticket: the lists are cached
# (per process on the embedded default, in Redis at scale), cleared whenever an account is
# saved (``team_agents_forget``), and at most this old in any case (an account changed by a
# bulk ``update()``, or a read in another process before the change committed).
TEAM_AGENTS_SECONDS = 30


def _team_agents_key(team: str) -> str:
    return f"triage:team-agents:{team}"


def team_agents(*, team: str) -> list[int]:
    """Ids of the active support staff in ``team``, in id order."""
    key = _team_agents_key(team)
    agents = cache.get(key)
    if agents is None:
        agents = _team_agents_now(team)
        cache.set(key, agents, TEAM_AGENTS_SECONDS)
    return list(agents)


def team_agents_forget() -> None:
    """Drop the cached team lists (a staff account changed)."""
    cache.delete_many([_team_agents_key(team.key) for team in get_policy().teams])


def _team_agents_now(team: str) -> list[int]:
    staff = User.objects.filter(role__in=STAFF_ROLES, is_active=True).order_by("pk")
    if connection.vendor == "postgresql":
        return list(staff.filter(teams__contains=[team]).values_list("pk", flat=True))
    # SQLite has no JSON "contains"; a team has at most a few hundred agents.
    rows = staff.values_list("pk", "teams")
    return [pk for pk, teams in rows if isinstance(teams, list) and team in teams]


def agent_loads(*, agent_ids: list[int]) -> dict[int, int]:
    """Active conversations per agent (new, open, on hold), counted now."""
    counts = dict(
        Ticket.objects.filter(assignee_id__in=agent_ids, status__in=ACTIVE_STATUSES)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    return {pk: counts.get(pk, 0) for pk in agent_ids}


def _snapshot_key(team: str) -> str:
    return f"triage:team-loads:{team}"


def _team_loads(*, team: str, agents: list[int]) -> dict[int, int]:
    snapshot = cache.get(_snapshot_key(team))
    now = time.time()
    if (
        snapshot is None
        or now - snapshot["taken_at"] > LOAD_SNAPSHOT_SECONDS
        or set(snapshot["loads"]) != set(agents)
    ):
        snapshot = {"taken_at": now, "loads": agent_loads(agent_ids=agents)}
        cache.set(_snapshot_key(team), snapshot, LOAD_SNAPSHOT_SECONDS * 3)
    return dict(snapshot["loads"])


def _count_assignment(*, team: str, agent_id: int) -> None:
    snapshot = cache.get(_snapshot_key(team))
    if snapshot is not None and agent_id in snapshot["loads"]:
        snapshot["loads"][agent_id] += 1
        cache.set(_snapshot_key(team), snapshot, LOAD_SNAPSHOT_SECONDS * 3)


def _least_loaded(team: Team, agents: list[int]) -> int | None:
    loads = _team_loads(team=team.key, agents=agents)
    if team.capacity is not None:
        agents = [pk for pk in agents if loads[pk] < team.capacity]
    if not agents:
        return None
    # Fewest active conversations; ties go to the lowest id, which is stable.
    chosen = min(agents, key=lambda pk: (loads[pk], pk))
    _count_assignment(team=team.key, agent_id=chosen)
    return chosen


def _round_robin(team: Team, agents: list[int]) -> int | None:
    return _round_robin_many(team, agents, 1)[0]


def choose_agent(*, team: Team) -> int | None:
    """The agent the next conversation of ``team`` goes to, or ``None`` (manual team, no
    members, or everyone at capacity). On SQLite, round robin locks the team's rotation row:
    call it inside a transaction."""
    if team.assignment == "manual":
        return None
    return choose_agent_among(team=team, agents=team_agents(team=team.key))


def choose_agent_among(*, team: Team, agents: list[int]) -> int | None:
    """``choose_agent`` restricted to ``agents`` (ids in id order): reassignment passes the
    team's members who are online now, without the agent the tickets leave."""
    if team.assignment == "manual" or not agents:
        return None
    if team.assignment == "least_loaded":
        return _least_loaded(team, agents)
    return _round_robin(team, agents)


def agent_for_new_ticket(*, team_key: str) -> int | None:
    """The agent a ticket about to be created in ``team_key`` goes to (by the team's
    strategy), so its INSERT carries the assignee; ``None`` as for ``choose_agent``, or
    when the team is not in the policy. The caller records the assignment event once the
    ticket has its row (``ticket_route`` then leaves the ticket alone)."""
    return agents_for_new_tickets(team_keys=[team_key])[0]


def agents_for_new_tickets(*, team_keys: Sequence[str]) -> list[int | None]:
    """``agent_for_new_ticket`` for a batch of tickets about to be created, in order, as
    if they were created one after the other: per team, one read of the loads (and for
    round robin one lock and one update of the rotation), the choices made in memory."""
    chosen: list[int | None] = [None] * len(team_keys)
    positions: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(team_keys):
        if key:
            positions[key].append(index)
    policy = get_policy()
    for key, indexes in positions.items():
        team = policy.team(key)
        if team is None or team.assignment == "manual":
            continue
        agents = team_agents(team=key)
        if not agents:
            continue
        if team.assignment == "least_loaded":
            picks = _least_loaded_many(team, agents, len(indexes))
        else:
            picks = _round_robin_many(team, agents, len(indexes))
        for index, pick in zip(indexes, picks, strict=True):
            chosen[index] = pick
    return chosen


def _least_loaded_many(team: Team, agents: list[int], count: int) -> list[int | None]:
    loads = _team_loads(team=team.key, agents=agents)
    picks: list[int | None] = []
    for _ in range(count):
        free = [pk for pk in agents if team.capacity is None or loads[pk] < team.capacity]
        if not free:
            picks.append(None)
            continue
        pick = min(free, key=lambda pk: (loads[pk], pk))
        loads[pick] += 1
        picks.append(pick)
    counted = Counter(pick for pick in picks if pick is not None)
    snapshot = cache.get(_snapshot_key(team.key))
    if snapshot is not None and counted:
        for agent_id, n in counted.items():
            if agent_id in snapshot["loads"]:
                snapshot["loads"][agent_id] += n
        cache.set(_snapshot_key(team.key), snapshot, LOAD_SNAPSHOT_SECONDS * 3)
    return picks


def _round_robin_many(team: Team, agents: list[int], count: int) -> list[int | None]:
    """``count`` agents in turn, skipping those at the team's capacity (checked for the
    next ``ROUND_ROBIN_BATCH`` in turn at a time)."""
    turns = _rotation_turns(team=team.key, agents=agents, count=count)
    loads: dict[int, int] = {}
    if team.capacity is not None:
        # The loads of every agent a turn looks at first, in one read for the batch.
        first = {
            agents[(turn + n) % len(agents)] for turn in turns for n in range(ROUND_ROBIN_BATCH)
        }
        loads = agent_loads(agent_ids=sorted(first))
    picks: list[int | None] = []
    for turn in turns:
        in_turn = agents[turn:] + agents[:turn]
        pick = None
        for offset in range(0, len(in_turn), ROUND_ROBIN_BATCH):
            batch = in_turn[offset : offset + ROUND_ROBIN_BATCH]
            if team.capacity is None:
                pick = batch[0]
                break
            unread = [pk for pk in batch if pk not in loads]
            if unread:
                loads.update(agent_loads(agent_ids=unread))
            pick = next((pk for pk in batch if loads[pk] < team.capacity), None)
            if pick is not None:
                break
        picks.append(pick)
        if pick is not None and team.capacity is not None:
            loads[pick] += 1
    _rotation_served(team=team.key, picks=picks)
    return picks


def _rotation_turns(*, team: str, agents: list[int], count: int) -> list[int]:
    """Where each of the next ``count`` conversations of ``team`` starts in ``agents``.

    On PostgreSQL the turn is drawn from a sequence per team: ``nextval`` is never rolled
    back and holds no lock, so concurrent arrivals each get their own turn without waiting
    for each other's transaction. The team's rotation row, locked until commit, serialised
    every chat start of a team behind the one before it (7-8 backends waiting on it at 200
    agents, docs/benchmarks.md). A turn drawn by a transaction that rolls back is skipped,
    as a taken number is at a counter. SQLite writes one transaction at a time anyway: there
    the row keeps the last agent served, and the next turn is the agent after it."""
    if connection.vendor == "postgresql":
        numbers = _rotation_sequence_next(team=team, count=count)
        return [number % len(agents) for number in numbers]
    rotation, _ = TeamRotation.objects.select_for_update(no_key=True).get_or_create(team=team)
    last = rotation.last_agent_id or 0
    start = next((index for index, pk in enumerate(agents) if pk > last), 0)
    return [(start + n) % len(agents) for n in range(count)]


def _rotation_served(*, team: str, picks: list[int | None]) -> None:
    """Where the rotation stands after ``picks``: on SQLite, the row (locked by
    ``_rotation_turns``) keeps the last agent served; PostgreSQL's sequence has moved on by
    itself."""
    if connection.vendor == "postgresql":
        return
    last = next((pick for pick in reversed(picks) if pick is not None), None)
    if last is not None:
        TeamRotation.objects.filter(team=team).update(last_agent_id=last)


def rotation_sequence_name(team: str) -> str:
    """The PostgreSQL sequence holding ``team``'s turns (names are limited to 63 bytes;
    the digest keeps two keys that clean up alike apart)."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", team.lower())[:32]
    digest = hashlib.blake2s(team.encode(), digest_size=4).hexdigest()
    return f"izonie_rotation_{cleaned}_{digest}"


def _rotation_sequence_next(*, team: str, count: int) -> list[int]:
    """``count`` numbers from the team's sequence (0, 1, 2... for a new team), creating it
    the first time a team needs one: policy teams come and go without a migration."""
    name = rotation_sequence_name(team)
    # ``to_regclass`` is NULL for a sequence not created yet, and ``nextval`` of NULL is
    # NULL: the usual case costs one statement and cannot abort the caller's transaction.
    draw = "SELECT nextval(to_regclass(%s)) - 1 FROM generate_series(1, %s)"
    with connection.cursor() as cursor:
        cursor.execute(draw, [name, count])
        numbers = [row[0] for row in cursor.fetchall()]
        if None not in numbers:
            return numbers
        try:
            with transaction.atomic():
                cursor.execute(f'CREATE SEQUENCE IF NOT EXISTS "{name}" MINVALUE 1 START 1')
        except IntegrityError:
            # Two first conversations at once: the other transaction's CREATE committed
            # while this one waited for it; its sequence is there now.
            pass
        cursor.execute(draw, [name, count])
        return [row[0] for row in cursor.fetchall()]


def ticket_route(*, ticket: Ticket) -> int | None:
    """Assign an unassigned ticket with a team to the agent its team's strategy picks.
    Caller holds the ticket's lock (or just created it). Returns the agent's id."""
    if ticket.assignee_id is not None or not ticket.team:
        return None
    team = get_policy().team(ticket.team)
    if team is None:
        return None
    agent_id = choose_agent(team=team)
    if agent_id is None:
        return None
    ticket.assignee_id = agent_id
    ticket.save(update_fields=["assignee"])
    events.field_changed(ticket=ticket, kind=EventKind.ASSIGNED, actor=None, old=None, new=agent_id)
    return agent_id
