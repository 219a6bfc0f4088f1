"""Form pieces shared by the portal and the console."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from core.errors import UserError
from tickets.attachments import CheckedUpload, check_uploads


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos or PDFs, checked against the policy's limits (type sniffed)."""

    widget = MultipleFileInput(attrs={"accept": "image/*,application/pdf", "multiple": True})

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedUpload]:
        files: list[UploadedFile] = (
            [f for f in (data or []) if f]
            if isinstance(data, list | tuple)
            else ([data] if data else [])
        )
        try:
            return check_uploads(files)
        except UserError as exc:
            raise forms.ValidationError(exc.message) from exc


def apply_service_error(form: forms.Form, exc: UserError) -> None:
    """Show a service's error next to the field it names (or above the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)
