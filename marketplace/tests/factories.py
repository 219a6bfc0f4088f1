import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.tests.factories import BuyerFactory
from marketplace.models import Order, Seller


class SellerFactory(DjangoModelFactory):
    class Meta:
        model = Seller

    store_name = factory.Sequence(lambda n: f"Store {n}")
    support_email = factory.Sequence(lambda n: f"store{n}@sellers.example.com")
    third_party = True


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"IZ-{30000000 + n:08d}")
    buyer = factory.SubFactory(BuyerFactory)
    seller = factory.SubFactory(SellerFactory)
    status = Order.Status.DELIVERED
    items = factory.LazyFunction(lambda: ["Phone X 128 GB"])
    total_minor = 45_000_00
    placed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=5))
    delivered_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))
