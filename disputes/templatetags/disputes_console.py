"""The dispute and seller panels of the console's ticket page (one include each)."""

from __future__ import annotations

from typing import Any

from django import template

from disputes.forms import DisputeOpenForm, OutcomeForm, SellerMessageForm
from disputes.selectors import dispute_panel, seller_panel
from marketplace.adapters import OrderInfo

register = template.Library()


def _known_orders(context: template.Context) -> dict[str, OrderInfo]:
    panel = context.get("order_panel")
    return {panel.number: panel.order} if panel is not None and panel.order else {}


@register.inclusion_tag("disputes/_console_panel.html", takes_context=True)
def dispute_console_panel(context: template.Context, ticket: Any) -> dict[str, Any]:
    return {
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "ticket": ticket,
        # The order panel's order (when the page has one) is the one a dispute is about.
        "panel": dispute_panel(ticket=ticket, known_orders=_known_orders(context)),
        "seller": seller_panel(ticket=ticket),
        "open_form": context.get("dispute_open_form") or DisputeOpenForm(),
        # Set on the preview step (and when the approved claim is refused).
        "send_form": context.get("dispute_send_form"),
        "message_form": context.get("seller_message_form") or SellerMessageForm(),
        "outcome_form": context.get("outcome_form") or OutcomeForm(),
    }
