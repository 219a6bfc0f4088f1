"""Seller Support on every channel: a conversation from a registered seller (a seller
account, or an address the marketplace knows as a seller's) is Seller Support."""

from __future__ import annotations

import logging

from accounts.models import Role, User
from marketplace.adapters import MarketplaceUnavailable, get_marketplace

logger = logging.getLogger(__name__)

SELLER_SUPPORT = "seller_support"


def is_registered_seller(*, requester: User) -> bool:
    if requester.role == Role.SELLER:
        return True
    if not requester.email:
        return False
    try:
        return get_marketplace().seller_for_email(email=requester.email) is not None
    except MarketplaceUnavailable as exc:
        # Not knowing costs a guess by the classifier, never the request.
        logger.warning("Seller check for requester %s skipped: %s", requester.pk, exc)
        return False


def category_for_requester(*, requester: User) -> str:
    """``seller_support`` for a registered seller, else "" (the classifier decides)."""
    return SELLER_SUPPORT if is_registered_seller(requester=requester) else ""
