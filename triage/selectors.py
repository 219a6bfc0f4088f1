"""Reads for triage: the queue of uncategorised conversations, the classifier's state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.template.defaultfilters import pluralize

from marketplace.adapters import MarketplaceUnavailable, OrderInfo, get_marketplace
from policy.loader import get_policy
from policy.schema import SupportPolicy
from tickets.choices import TicketStatus
from tickets.models import Ticket
from triage.models import ClassifierVersion


def triage_queue() -> QuerySet[Ticket]:
    """Open conversations without a category, oldest first (they wait longest)."""
    return (
        Ticket.objects.filter(category="")
        .exclude(status=TicketStatus.CLOSED)
        .select_related("requester", "triage", "triage__classifier")
        .order_by("created_at", "id")
    )


def classifier_history(*, limit: int = 5) -> list[ClassifierVersion]:
    return list(ClassifierVersion.objects.order_by("-version")[:limit])


# --- The order panel on a ticket


@dataclass(frozen=True)
class ReturnWindow:
    """Whether the order can still be returned under the policy's return window."""

    open: bool
    days: int
    delivered_on: dt.date | None
    last_day: dt.date | None
    days_left: int | None

    @property
    def explanation(self) -> str:
        if self.delivered_on is None or self.last_day is None:
            return (
                f"Not delivered yet: the {self.days}-day return window starts on the delivery date."
            )
        last = f"{self.last_day.day} {self.last_day:%b %Y}"
        if self.open:
            left = self.days_left or 0
            when = "today is the last day" if left == 0 else f"{left} day{pluralize(left)} left"
            return f"Returnable: within the {self.days}-day window until {last} ({when})."
        late = (self.days_left or 0) * -1
        return (
            f"Not returnable: the {self.days}-day window closed on {last}, "
            f"{late} day{pluralize(late)} ago; a return request is not accepted."
        )


def return_window(*, order: OrderInfo, now: dt.datetime, policy: SupportPolicy) -> ReturnWindow:
    """The return window counts calendar days from the delivery date in the team's time
    zone: delivered on the 14th with a 7-day window, a return can be asked for until the
    end of the 21st."""
    days = max(1, round(policy.returns.window.minutes / (24 * 60)))
    if order.delivered_at is None:
        return ReturnWindow(open=False, days=days, delivered_on=None, last_day=None, days_left=None)
    zone = policy.calendar.zone
    delivered_on = order.delivered_at.astimezone(zone).date()
    last_day = delivered_on + dt.timedelta(days=days)
    days_left = (last_day - now.astimezone(zone).date()).days
    return ReturnWindow(
        open=days_left >= 0,
        days=days,
        delivered_on=delivered_on,
        last_day=last_day,
        days_left=days_left,
    )


@dataclass(frozen=True)
class OrderPanel:
    number: str
    order: OrderInfo | None
    # Why there is no order to show: not found, or the marketplace cannot be asked.
    problem: str = ""
    returns: ReturnWindow | None = None


def order_panel(*, ticket: Ticket, now: dt.datetime) -> OrderPanel | None:
    """The ticket's order as the marketplace reports it, with its return window. None
    for an unverified requester: the order card would confirm a stranger's order."""
    if not ticket.order_number or not ticket.requester_verified:
        return None
    number = ticket.order_number
    try:
        order = get_marketplace().order_get(number=number)
    except MarketplaceUnavailable as exc:
        return OrderPanel(number, None, f"The marketplace cannot be asked right now: {exc}.")
    if order is None:
        return OrderPanel(number, None, "The marketplace has no such order.")
    policy = get_policy()
    return OrderPanel(number, order, returns=return_window(order=order, now=now, policy=policy))
