from __future__ import annotations

from typing import Any, cast

from django import forms

from core.forms import PhotosField, PlainSelect
from policy.loader import get_policy
from social.models import ReplyVisibility
from tickets.choices import Priority, TicketStatus
from tickets.selectors import agent_choices


class ReplyForm(forms.Form):
    body = forms.CharField(label="Reply to the customer", widget=forms.Textarea(attrs={"rows": 5}))
    photos = PhotosField(label="Attach photos or PDFs")
    status = forms.ChoiceField(
        label="Then set status",
        required=False,
        choices=[("", "Keep as is"), *TicketStatus.choices],
        initial=TicketStatus.PENDING,
    )


class CommentReplyForm(ReplyForm):
    """A reply on a public-comment conversation (Facebook or Instagram): in public under
    the comment, or privately as Meta's one direct message per comment."""

    visibility = forms.ChoiceField(
        label="Answer",
        choices=ReplyVisibility.choices,
        initial=ReplyVisibility.PUBLIC,
        widget=forms.RadioSelect,
    )
    field_order = ["visibility", "body", "status"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        del self.fields["photos"]  # comment replies carry text only


class NoteForm(forms.Form):
    body = forms.CharField(label="Internal note", widget=forms.Textarea(attrs={"rows": 3}))


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices, widget=PlainSelect)
    category = forms.ChoiceField(widget=PlainSelect)
    priority = forms.ChoiceField(choices=Priority.choices, widget=PlainSelect)
    team = forms.ChoiceField(required=False, widget=PlainSelect)
    assignee = forms.ChoiceField(required=False, widget=PlainSelect)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        policy = get_policy()
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", "Needs a category")] + [
            (c.key, c.name) for c in policy.categories
        ]
        self.fields["category"].required = False
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", "No team")] + [
            (t.key, t.name) for t in policy.teams
        ]
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [("", "Unassigned")] + [
            (str(pk), name) for pk, name in agent_choices()
        ]


class EscalationContactForm(forms.Form):
    summary = forms.CharField(
        label="How and when you contacted the customer", widget=forms.Textarea(attrs={"rows": 3})
    )
    outcome = forms.CharField(label="Outcome", required=False, max_length=500)
