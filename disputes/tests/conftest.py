from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from accounts.tests.factories import AgentFactory, BuyerFactory, SellerUserFactory
from marketplace.models import Order, Seller
from marketplace.tests.factories import OrderFactory, SellerFactory
from tickets import services
from tickets.choices import Channel
from tickets.models import Ticket


@dataclass
class Case:
    buyer: User
    seller_user: User
    seller: Seller
    order: Order
    agent: User
    ticket: Ticket


CLAIM = (
    "The phone I got from order {number} has a cracked screen. Call me on 0803 123 4567 "
    "or write to chioma.okafor@example.com. I want my money back."
)


def make_case(*, channel: str = Channel.WEB_FORM, third_party: bool = True) -> Case:
    buyer = BuyerFactory(
        first_name="Chioma",
        last_name="Okafor",
        display_name="Chioma Okafor",
        email="chioma.okafor@example.com",
    )
    seller_user = SellerUserFactory(email="owner@gadgethub.example", display_name="GadgetHub")
    seller = SellerFactory(
        store_name="GadgetHub",
        user=seller_user,
        support_email="care@gadgethub.example",
        third_party=third_party,
    )
    order = OrderFactory(buyer=buyer, seller=seller, total_minor=45_000_00)
    agent = AgentFactory(username="ada", display_name="Ada Agent", teams=["customer_care"])
    ticket = services.ticket_open(
        requester=buyer,
        channel=channel,
        category="returns",
        subject="Cracked screen",
        body=CLAIM.format(number=order.number),
        order_number=order.number,
    )
    return Case(buyer, seller_user, seller, order, agent, ticket)


@pytest.fixture
def case(db) -> Case:
    return make_case()
