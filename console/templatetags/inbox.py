"""The inbox's bulk bar, built in Python: the rows' values come from
``console.selectors.inbox_rows``."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from core.forms import options_html

register = template.Library()


@register.simple_tag
def assignable_agent_options() -> SafeString:
    """The bulk bar's ``<option>`` per agent, built in one pass: a loop in the template
    over hundreds of agents cost more than the rest of the table."""
    from tickets.selectors import agent_choices

    return mark_safe(options_html(agent_choices()))
