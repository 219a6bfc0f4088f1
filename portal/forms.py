from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.formats import date_format

from accounts.models import Role, User
from core.forms import PhotosField
from marketplace.adapters import OrderInfo
from policy.loader import get_policy


class CategorySelect(forms.RadioSelect):
    """Radio buttons that say, on each option, whether the category wants an order
    number or photos; the page's CSS uses these to show the matching hints."""

    def __init__(self, *args: Any, needs_order: set[str], asks_photos: set[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.needs_order = needs_order
        self.asks_photos = asks_photos

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        value = str(option["value"])
        if value in self.needs_order:
            option["attrs"]["data-needs-order"] = "true"
        if value in self.asks_photos:
            option["attrs"]["data-asks-photos"] = "true"
        return option


class ContactForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(label="Your email address", required=False)
    category = forms.ChoiceField(label="What is it about?")
    order_number = forms.CharField(label="Order number", max_length=40, required=False)
    subject = forms.CharField(label="Subject (optional)", max_length=200, required=False)
    body = forms.CharField(
        label="How can we help?", widget=forms.Textarea(attrs={"rows": 6}), max_length=50_000
    )
    photos = PhotosField(label="Photos or PDFs (optional)")

    def __init__(
        self,
        *args: Any,
        user: User | None = None,
        recent_orders: Sequence[OrderInfo] = (),
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        policy = get_policy()
        self.anonymous = user is None or not user.is_authenticated
        is_seller = not self.anonymous and user is not None and user.role == Role.SELLER
        offered = [c for c in policy.categories if c.audience == "everyone" or is_seller]
        self.needs_order_keys = {c.key for c in offered if c.needs_order_number}
        self.asks_photos_keys = {c.key for c in offered if c.asks_for_photos}
        category = cast(forms.ChoiceField, self.fields["category"])
        category.widget = CategorySelect(
            needs_order=self.needs_order_keys, asks_photos=self.asks_photos_keys
        )
        category.choices = [(c.key, f"{c.name}: {', '.join(c.examples)}") for c in offered]
        category.error_messages["required"] = "Choose what your request is about."
        self.fields["body"].error_messages["required"] = "Tell us what happened."
        needing = [c.name for c in offered if c.needs_order_number]
        example = policy.order_numbers.example
        self.fields["order_number"].help_text = (
            f"It is in your order confirmation and looks like {example} (an example, "
            "not your order)." + (f" We need it for {', '.join(needing)}." if needing else "")
        )
        self.fields["order_number"].widget.attrs.update(
            {"placeholder": f"e.g. {example}", "autocomplete": "off"}
        )
        if recent_orders:
            self._offer_orders(recent_orders, zone=policy.calendar.zone)
        limits = policy.attachments
        types = ", ".join(t.split("/")[1].upper() for t in limits.allowed_types)
        self.fields["photos"].help_text = (
            f"Up to {limits.max_per_message} files, {filesizeformat(limits.max_bytes)} each "
            f"({types})."
        )
        self.fields["photos"].widget.attrs["accept"] = ",".join(limits.allowed_types)
        if self.anonymous:
            self.fields["name"].required = True
            self.fields["email"].required = True
            self.fields["email"].help_text = "We reply to this address."
        else:
            del self.fields["name"]
            del self.fields["email"]

    def _offer_orders(self, orders: Sequence[OrderInfo], *, zone: Any) -> None:
        """A signed-in buyer picks one of their latest orders instead of typing it; the
        typed field stays for an older order."""
        choices = [("", "None of these, or not about an order")]
        for order in orders:
            placed = date_format(order.placed_at.astimezone(zone), "j M Y")
            items = ", ".join(order.items[:2]) + ("…" if len(order.items) > 2 else "")
            choices.append(
                (order.number, f"{order.number} · {items} · {order.status}, ordered {placed}")
            )
        self.fields["order_pick"] = forms.ChoiceField(
            label="Which of your orders is it about?",
            choices=choices,
            required=False,
            widget=forms.RadioSelect,
        )
        typed = self.fields["order_number"]
        typed.label = "Another order number"
        typed.help_text = "Only if the order is not listed above. " + str(typed.help_text)
        self.order_numbers_offered = [order.number for order in orders]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        picked = data.get("order_pick") or ""
        typed = (data.get("order_number") or "").strip()
        if picked and typed and typed.upper() != picked.upper():
            self.add_error(
                "order_number",
                "You chose an order above and typed another: choose one, or clear the box.",
            )
        elif picked:
            data["order_number"] = picked
        return data


class CustomerReplyForm(forms.Form):
    # Either may be left out: photos can be added later without writing anything.
    body = forms.CharField(
        label="Your message",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=50_000,
        required=False,
    )
    photos = PhotosField(label="Add photos or PDFs")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("body") or "").strip() and not data.get("photos"):
            raise forms.ValidationError("Write a message or add photos.")
        return data
