from __future__ import annotations

from typing import Any, cast

from django import forms

from accounts.models import Role, User
from core.forms import PhotosField
from policy.loader import get_policy


class ContactForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(label="Your email address", required=False)
    category = forms.ChoiceField(label="What is it about?", widget=forms.RadioSelect)
    order_number = forms.CharField(label="Order number", max_length=40, required=False)
    subject = forms.CharField(label="Subject", max_length=200, required=False)
    body = forms.CharField(
        label="How can we help?", widget=forms.Textarea(attrs={"rows": 6}), max_length=50_000
    )
    photos = PhotosField(label="Photos or PDFs")

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        policy = get_policy()
        self.anonymous = user is None or not user.is_authenticated
        is_seller = not self.anonymous and user is not None and user.role == Role.SELLER
        self.category_help = {
            c.key: {"needs_order": c.needs_order_number, "photos": c.asks_for_photos}
            for c in policy.categories
        }
        cast(forms.ChoiceField, self.fields["category"]).choices = [
            (c.key, f"{c.name}: {', '.join(c.examples)}")
            for c in policy.categories
            if c.audience == "everyone" or is_seller
        ]
        self.fields["category"].error_messages["required"] = "Choose what your request is about."
        self.fields["order_number"].help_text = (
            f"Looks like {policy.order_numbers.example}. Needed for "
            + ", ".join(c.name for c in policy.categories if c.needs_order_number)
            + "."
        )
        limits = policy.attachments
        self.fields["photos"].help_text = (
            f"Up to {limits.max_per_message} files, {limits.max_bytes // (1024 * 1024)} MB each: "
            "photos (JPEG, PNG, GIF, WebP, HEIC) or PDF."
        )
        if self.anonymous:
            self.fields["name"].required = True
            self.fields["email"].required = True
        else:
            del self.fields["name"]
            del self.fields["email"]


class CustomerReplyForm(forms.Form):
    body = forms.CharField(
        label="Your message", widget=forms.Textarea(attrs={"rows": 4}), max_length=50_000
    )
    photos = PhotosField(label="Add photos or PDFs")
