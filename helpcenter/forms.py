from django import forms

from helpcenter.choices import DeflectionSource
from helpcenter.services import MAX_COMMENT_CHARS


class FeedbackForm(forms.Form):
    helpful = forms.ChoiceField(
        label="Was this article helpful?",
        choices=[("yes", "Yes"), ("no", "No")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="What could be better? (optional)",
        required=False,
        max_length=MAX_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DeflectionForm(forms.Form):
    article_id = forms.IntegerField(min_value=1, max_value=2**53)
    source = forms.ChoiceField(choices=DeflectionSource.choices)
    query = forms.CharField(required=False, max_length=20_000)
