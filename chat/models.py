"""Live chat: a session per conversation, its numbered stream, agents' presence."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SessionState(models.TextChoices):
    WAITING = "waiting", _("Waiting in the queue")
    ASSIGNED = "assigned", _("Offered to an agent")
    ACTIVE = "active", _("With an agent")
    ENDED = "ended", _("Ended")


class Platform(models.TextChoices):
    WEB = "web", _("Website")
    APP = "app", _("Mobile app")


class ChatSession(models.Model):
    """One chat conversation. Its messages live on the ticket; its stream (what the
    customer's client replays on reconnect) is the numbered ``ChatEntry`` rows."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="chat_session"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_sessions"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chats_handled",
    )
    state = models.CharField(max_length=16, choices=SessionState.choices)
    platform = models.CharField(max_length=8, choices=Platform.choices, default=Platform.WEB)
    visitor_name = models.CharField(max_length=150, blank=True)
    # Set when a chat is transferred to a team: only that team's agents may take it.
    wanted_team = models.CharField(max_length=40, blank=True)
    # The last sequence number handed out in this session's stream.
    last_seq = models.PositiveIntegerField(default=0)
    customer_delivered_seq = models.PositiveIntegerField(default=0)
    customer_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField()
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    end_reason = models.CharField(max_length=500, blank=True)
    ended_for_conduct = models.BooleanField(default=False)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    # Agents who let an offer of this chat lapse (or went away with it): it goes to
    # someone else first, and back to them only when nobody else can take it.
    passed_agent_ids = models.JSONField(default=list, blank=True)
    # Where the visitor was when the chat started, as the widget reports it (shown to
    # agents as context, never trusted for anything).
    page_url = models.CharField(max_length=500, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # What the agent who transferred the chat wrote for the next one (never shown to
    # the customer); cleared when the chat is transferred again without a note.
    handover_note = models.CharField(max_length=500, blank=True)
    handover_by = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "queued_at"], name="chat_queue"),
            models.Index(fields=["agent", "state"], name="chat_agent_load"),
        ]

    def __str__(self) -> str:
        return f"Chat {self.public_id} ({self.state})"

    @property
    def is_ended(self) -> bool:
        return self.state == SessionState.ENDED


class EntryKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    AGENT_JOINED = "agent_joined", _("Agent joined")
    AGENT_LEFT = "agent_left", _("Agent left")
    ENDED = "ended", _("Chat ended")


class Sender(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")


class ChatEntry(models.Model):
    """One numbered item of a session's stream, as the customer's client sees it.

    ``seq`` is handed out under the session's row lock, so it is gap-free and ordered;
    ``client_id`` (with the sender) makes a retried frame a no-op.
    """

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="entries")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    sender = models.CharField(max_length=8, choices=Sender.choices)
    message = models.OneToOneField(
        "tickets.Message",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_entry",
    )
    client_id = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True)
    author_name = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="chat_entry_seq"),
            models.UniqueConstraint(
                fields=["session", "sender", "client_id"],
                condition=~Q(client_id=""),
                name="chat_entry_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.kind}"


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentPresence(models.Model):
    """An agent's chat availability. Online counts only while the console keeps
    sending heartbeats, so a closed laptop does not keep taking chats."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presence"
    )
    status = models.CharField(max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    max_chats = models.PositiveSmallIntegerField(default=3)
    # Category keys this agent takes chats for; empty means every category.
    skills = models.JSONField(default=list, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.agent}: {self.status}"


class OfflineMessage(models.Model):
    """A message left with the chat widget while chat was unavailable ("Live chat,
    offline message"). Its ticket is answered by email (its channel is email); this
    row says where it came from, for the agents."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="chat_offline_message"
    )
    page_url = models.CharField(max_length=500, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Offline chat message on ticket {self.ticket_id}"
