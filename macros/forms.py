from __future__ import annotations

from typing import Any, cast

from django import forms

from macros.models import Macro
from macros.placeholders import TICKET_PLACEHOLDERS
from policy.loader import get_policy
from tickets.choices import Priority, TicketStatus


class MacroForm(forms.ModelForm):
    shared = forms.BooleanField(
        label="Shared with the team", required=False, help_text="Supervisors only."
    )

    class Meta:
        model = Macro
        fields = [
            "title",
            "shortcut",
            "body",
            "set_status",
            "set_priority",
            "set_category",
            "set_team",
            "add_tags",
        ]
        labels = {
            "shortcut": "Chat shortcut",
            "body": "Text",
            "set_status": "Then set status",
            "set_priority": "Set priority",
            "set_category": "Set category",
            "set_team": "Set team",
            "add_tags": "Add tags (separated by commas)",
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        policy = get_policy()
        keep = ("", "Keep as is")
        self.fields["set_status"] = forms.ChoiceField(
            label="Then set status", required=False, choices=[keep, *TicketStatus.choices]
        )
        self.fields["set_priority"] = forms.ChoiceField(
            label="Set priority", required=False, choices=[keep, *Priority.choices]
        )
        self.fields["set_category"] = forms.ChoiceField(
            label="Set category",
            required=False,
            choices=[keep] + [(c.key, c.name) for c in policy.categories],
        )
        self.fields["set_team"] = forms.ChoiceField(
            label="Set team",
            required=False,
            choices=[keep] + [(t.key, t.name) for t in policy.teams],
        )
        cast(forms.CharField, self.fields["body"]).help_text = (
            "Placeholders: "
            + ", ".join("{{ " + name + " }}" for name in TICKET_PLACEHOLDERS)
            + ", and the policy's facts ({{ policy.response.email_first_reply }} …)."
        )
        if self.instance.pk:
            self.fields["shared"].initial = self.instance.owner_id is None
