"""The inbox's bulk bar, built in Python: the rows' values come from
``console.selectors.inbox_rows``."""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def assignable_agent_options() -> SafeString:
    """The bulk bar's ``<option>`` per agent, built in one pass: a loop in the template
    over hundreds of agents cost more than the rest of the table."""
    from tickets.selectors import agents_for_assignment

    rows = agents_for_assignment().values_list(
        "pk", "display_name", "first_name", "last_name", "username"
    )
    # As User.__str__ names them.
    return format_html_join(
        "",
        '<option value="{}">{}</option>',
        (
            (pk, display or f"{first} {last}".strip() or username)
            for pk, display, first, last, username in rows
        ),
    )
