"""Seller Support on every channel: a conversation from a registered seller (a seller
account, or an address the marketplace knows as a seller's) is Seller Support."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from accounts.models import Role, User
from marketplace.adapters import MarketplaceUnavailable, get_marketplace
from tickets.choices import Channel

logger = logging.getLogger(__name__)

SELLER_SUPPORT = "seller_support"


def is_registered_seller(*, requester: User, ask_marketplace: bool = True) -> bool:
    """A seller account, or (``ask_marketplace``) an address the marketplace knows as a
    seller's, e.g. a store's support address that is not the seller's login."""
    if requester.role == Role.SELLER:
        return True
    if not ask_marketplace or not requester.email:
        return False
    try:
        return get_marketplace().seller_for_email(email=requester.email) is not None
    except MarketplaceUnavailable as exc:
        # Not knowing costs a guess by the classifier, never the request.
        logger.warning("Seller check for requester %s skipped: %s", requester.pk, exc)
        return False


def registered_sellers(*, requesters: Iterable[tuple[User, str]]) -> set[int]:
    """``is_registered_seller`` for the requesters of a batch of new tickets, each with
    its channel (the marketplace is asked about email addresses only, see
    ``category_for_requester``), with one question to the marketplace: their ids."""
    requesters = list(requesters)
    found = {user.pk for user, _channel in requesters if user.role == Role.SELLER}
    ask = {
        user.email.strip().lower(): user
        for user, channel in requesters
        if user.pk not in found and channel == Channel.EMAIL and user.email
    }
    if not ask:
        return found
    try:
        known = get_marketplace().seller_emails_among(emails=list(ask))
    except MarketplaceUnavailable as exc:
        logger.warning("Seller check for %s requesters skipped: %s", len(ask), exc)
        return found
    for user, channel in requesters:
        if channel == Channel.EMAIL and user.email and user.email.strip().lower() in known:
            found.add(user.pk)
    return found


def category_for_requester(*, requester: User, channel: str) -> str:
    """``seller_support`` for a registered seller, else "" (the classifier decides).

    The marketplace is asked about the address only for email, where the address is who
    wrote; on other channels it is one the customer gave (or none), and asking would cost
    a marketplace call for every new conversation."""
    known = is_registered_seller(requester=requester, ask_marketplace=channel == Channel.EMAIL)
    return SELLER_SUPPORT if known else ""
