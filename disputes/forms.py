from __future__ import annotations

from django import forms

from disputes.models import Outcome


class DisputeOpenForm(forms.Form):
    claim = forms.CharField(
        label="What the seller is told (the buyer's claim)",
        required=False,
        help_text="Leave empty to send the buyer's first message. Email addresses and phone "
        "numbers are removed before the seller sees it.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SellerMessageForm(forms.Form):
    body = forms.CharField(label="Message to the seller", widget=forms.Textarea(attrs={"rows": 3}))


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=Outcome.choices)
    amount = forms.CharField(
        label="Refund amount (partial refund only)",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.CharField(
        label="Reason (told to the buyer and the seller)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SellerReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 5}))


class SellerRequestForm(forms.Form):
    TOPICS = [("Listings", "Listings"), ("Payouts", "Payouts"), ("Other", "Something else")]

    topic = forms.ChoiceField(label="What is it about?", choices=TOPICS)
    subject = forms.CharField(label="Subject", max_length=150)
    body = forms.CharField(label="Describe the problem", widget=forms.Textarea(attrs={"rows": 6}))
