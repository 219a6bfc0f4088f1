"""Macros: a reusable reply with placeholders, and changes applied when it is sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.choices import Priority, TicketStatus


class Macro(models.Model):
    """A canned reply. Shared with the team when ``owner`` is empty (supervisors manage
    those), personal otherwise. The ``set_*`` fields and ``add_tags`` are optional: when
    the agent sends a reply made from the macro, they are applied to the ticket."""

    title = models.CharField(max_length=120)
    # "/shortcut" in the chat desk's composer offers it ("/gre" finds "greeting"); set
    # from the title when left blank (``macro_save``).
    shortcut = models.SlugField(
        max_length=40,
        blank=True,
        help_text=_("Typed after / in the chat desk. Left blank: made from the title."),
    )
    # Text with placeholders: {{ customer.first_name }}, {{ order.number }},
    # {{ policy.response.email_first_reply }} ... (``macros.placeholders``).
    body = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
        help_text=_("Empty: shared with the whole team."),
    )
    set_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    set_priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    set_category = models.CharField(max_length=40, blank=True)
    set_team = models.CharField(max_length=40, blank=True)
    # Tag names separated by commas.
    add_tags = models.CharField(max_length=200, blank=True)
    # How often it was sent: the reply box lists the most used first.
    uses = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["owner", "-uses"], name="macro_owner_uses")]

    def __str__(self) -> str:
        return self.title

    @property
    def shared(self) -> bool:
        return self.owner_id is None

    @property
    def tag_names(self) -> list[str]:
        return [name.strip() for name in self.add_tags.split(",") if name.strip()]
