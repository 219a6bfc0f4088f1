"""A small stand-in for the marketplace's own data, used by the demo adapter.

Production replaces ``DemoMarketplaceAdapter`` with an adapter for the real
marketplace API; nothing outside ``marketplace`` reads these tables directly.
"""

from django.conf import settings
from django.db import models


class Seller(models.Model):
    store_name = models.CharField(max_length=150)
    # The seller's login, when the seller is a registered vendor using the portal.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    support_email = models.EmailField()
    third_party = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.store_name


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"
        RETURNED = "returned", "Returned"

    number = models.CharField(max_length=32, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=Status.choices)
    items = models.JSONField(default=list)
    total_minor = models.PositiveIntegerField(help_text="Order total in minor units (kobo).")
    currency = models.CharField(max_length=3, default="NGN")
    placed_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.number
