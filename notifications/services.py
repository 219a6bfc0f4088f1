"""Who hears about what: the assignee, else the ticket's team; supervisors for escalations."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.models import STAFF_ROLES, Role, User
from core.layer_send import group_send_many
from notifications.models import Notification
from tickets.models import Ticket


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _push(user_ids: list[int]) -> None:
    try:
        group_send_many(
            [(user_group(user_id), {"type": "notification.new"}) for user_id in user_ids]
        )
    except Exception:  # a lost hint costs a refresh, never the notification itself
        return


def _notify(*, recipients: Iterable[User], ticket: Ticket, kind: str, text: str) -> int:
    rows = Notification.objects.bulk_create(
        Notification(recipient=user, ticket=ticket, kind=kind, text=text[:300])
        for user in {user.pk: user for user in recipients}.values()
    )
    ids = [row.recipient_id for row in rows]
    if ids:
        transaction.on_commit(partial(_push, ids))
    return len(rows)


def team_members(team: str) -> list[User]:
    staff = User.objects.filter(role__in=STAFF_ROLES, is_active=True)
    # teams is a JSON list; filtered here so it works the same on SQLite and PostgreSQL.
    return [user for user in staff if team in (user.teams or [])]


def notify_ticket_owner(*, ticket: Ticket, kind: str, text: str) -> int:
    """The assignee, or if none, everyone on the ticket's team (supervisors as a last
    resort, so a warning never goes nowhere)."""
    if ticket.assignee_id is not None and ticket.assignee is not None:
        recipients: list[User] = [ticket.assignee]
    else:
        recipients = team_members(ticket.team) if ticket.team else []
    if not recipients:
        recipients = list(supervisors())
    return _notify(recipients=recipients, ticket=ticket, kind=kind, text=text)


def supervisors() -> Iterable[User]:
    return User.objects.filter(role__in=[Role.SUPERVISOR, Role.ADMIN], is_active=True)


def notify_supervisors(*, ticket: Ticket, kind: str, text: str) -> int:
    return _notify(recipients=supervisors(), ticket=ticket, kind=kind, text=text)


def notifications_mark_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
