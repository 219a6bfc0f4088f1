from __future__ import annotations

from django import forms

from disputes.models import Outcome


class DisputeOpenForm(forms.Form):
    claim = forms.CharField(
        label="What the seller is told (the buyer's claim)",
        required=False,
        help_text="Leave empty to use the buyer's first message. Email addresses, phone "
        "numbers and postal addresses are hidden; you see and can edit the result before "
        "anything is sent.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DisputeSendForm(forms.Form):
    """The claim the agent approved in the preview: sent as it stands (checked again for
    contact details and addresses)."""

    claim = forms.CharField(
        label="What the seller will read",
        max_length=10_000,
        help_text="Email addresses, phone numbers and postal addresses are hidden; edit "
        "anything else the seller should not see. What you add is checked again.",
        widget=forms.Textarea(attrs={"rows": 8}),
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
