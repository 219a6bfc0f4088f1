"""Checking uploaded files against the policy's attachment limits.

The type is sniffed from the file's first bytes, never taken from the client's
Content-Type or the file name, so a script renamed ``photo.jpg`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from policy.loader import get_policy
from tickets.exceptions import AttachmentRejected

_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class CheckedUpload:
    upload: UploadedFile
    filename: str
    content_type: str
    size: int


def sniff_content_type(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.mime if kind else None


def check_uploads(uploads: list[UploadedFile]) -> list[CheckedUpload]:
    limits = get_policy().attachments
    if len(uploads) > limits.max_per_message:
        raise AttachmentRejected(
            f"You can attach at most {limits.max_per_message} files to one message.",
            field="attachments",
        )
    checked = []
    for upload in uploads:
        name = (upload.name or "attachment").rsplit("/", 1)[-1][:200]
        size = upload.size or 0
        if size > limits.max_bytes:
            raise AttachmentRejected(
                f"{name} is {filesizeformat(size)}; the limit is "
                f"{filesizeformat(limits.max_bytes)} per file.",
                field="attachments",
            )
        if size == 0:
            raise AttachmentRejected(f"{name} is empty.", field="attachments")
        upload.seek(0)
        head = upload.read(_SNIFF_BYTES)
        upload.seek(0)
        content_type = sniff_content_type(head)
        if content_type not in limits.allowed_types:
            allowed = ", ".join(t.split("/")[1].upper() for t in limits.allowed_types)
            raise AttachmentRejected(
                f"{name} is not a photo or PDF we accept (allowed: {allowed}).",
                field="attachments",
            )
        checked.append(
            CheckedUpload(upload=upload, filename=name, content_type=content_type, size=size)
        )
    return checked
