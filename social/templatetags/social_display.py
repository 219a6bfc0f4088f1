from __future__ import annotations

from typing import Any

from django import template

from social.selectors import social_panel_for
from tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("social/_window.html")
def social_window(ticket: Ticket) -> dict[str, Any]:
    """The social account and messaging-window state, for the console's ticket page."""
    return {"panel": social_panel_for(ticket=ticket)}
