from __future__ import annotations

from django import template
from django.db.models import QuerySet

from feedback.models import Rating
from tickets.models import Ticket

register = template.Library()


@register.simple_tag
def ticket_ratings(ticket: Ticket) -> QuerySet[Rating]:
    return Rating.objects.filter(ticket=ticket).order_by("-updated_at")
