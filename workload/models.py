"""Reassignment records and the presence watch that notices a lost heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket


class Reason(models.TextChoices):
    # Before shifts (2026-12): chat presence moved tickets. Kept for the history they wrote.
    AGENT_OFFLINE = "agent_offline", _("Agent went offline")
    HEARTBEAT_LOST = "heartbeat_lost", _("Agent's console stopped answering")
    SHIFT_ENDED = "shift_ended", _("Agent ended the shift")
    SIGNED_OUT = "signed_out", _("Agent signed out")
    ABSENT = "absent", _("Agent away longer than the policy allows")
    OVER_CAPACITY = "over_capacity", _("Agent over the team's capacity")
    SUPERVISOR_OVERRIDE = "supervisor_override", _("Supervisor override")


class Reassignment(models.Model):
    """One ticket moved away from an agent; the console's workload page lists these."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="reassignments")
    from_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # None: nobody of the team was available, so the ticket waits unassigned in its queue.
    to_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=24, choices=Reason.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="reassignment_recent")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.from_agent_id} -> {self.to_agent_id} ({self.reason})"


class AssignmentPin(models.Model):
    """A supervisor's override: the ticket stays with this agent whatever the automatic
    rules say, until someone assigns it elsewhere."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="assignment_pin")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.ticket_id} pinned to {self.agent_id}"


class PresenceWatch(models.Model):
    """The next moment an online agent's heartbeat is checked. One timer task per online
    agent, re-armed from the last heartbeat; a task whose ``due_at`` no longer matches
    was superseded and does nothing."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_watch"
    )
    due_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"watch {self.agent_id} at {self.due_at}"


class ShiftEnd(models.TextChoices):
    ENDED = "ended", _("Ended by the agent")
    SIGNED_OUT = "signed_out", _("Signed out")
    ABSENT = "absent", _("Away longer than the policy allows")


class Shift(models.Model):
    """An agent at work on tickets, from the first console request to sign-out, the
    "End shift" button or an absence longer than ``workload.reassign_after_absence``.

    This, not live-chat presence, is what keeps an agent's email, form and social
    tickets with them: going offline for chats never ends a shift.
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shifts"
    )
    started_at = models.DateTimeField()
    # Updated at most once a minute by ``ShiftSeenMiddleware`` and the chat desk's heartbeat.
    last_seen_at = models.DateTimeField()
    # The moment the absence check is armed for; a timer task for another moment was
    # superseded and does nothing.
    check_due_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=ShiftEnd.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=models.Q(ended_at__isnull=True),
                name="shift_one_open_per_agent",
            )
        ]
        indexes = [models.Index(fields=["agent", "-started_at"], name="shift_agent_recent")]

    def __str__(self) -> str:
        return f"shift {self.agent_id} from {self.started_at:%Y-%m-%d %H:%M}"


class TicketSeen(models.Model):
    """When an agent last opened a ticket: the inbox marks tickets whose customer wrote
    since then."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "ticket"], name="ticket_seen_once_per_agent")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} saw {self.ticket_id} at {self.seen_at}"
