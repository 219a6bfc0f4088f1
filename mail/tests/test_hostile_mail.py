"""Hostile or huge mail: stored, with what was not kept and why; memory stays bounded."""

import io
import tracemalloc
import zipfile
from email.message import EmailMessage

import pytest

from conftest import png_bytes
from mail.intake import ingest_raw
from mail.models import InboundEmail, InboundStatus
from tickets.models import Attachment

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def with_attachments(*files: tuple[str, bytes, str, str]) -> bytes:
    message = EmailMessage()
    message["From"] = "Chioma <chioma@example.com>"
    message["To"] = "support@izonie.com"
    message["Subject"] = "Files"
    message["Message-ID"] = "<files@example.com>"
    message.set_content("Please see the attached files.")
    for name, data, maintype, subtype in files:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def with_many_parts(parts: int) -> bytes:
    """The text part and ``parts`` one-byte attachments, written out directly: built with
    ``EmailMessage.add_attachment`` the 10,000 parts took longer than the ingestion."""
    boundary = "===============0123456789=="
    lines = [
        "From: Chioma <chioma@example.com>",
        "To: support@izonie.com",
        "Subject: Files",
        "Message-ID: <files@example.com>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 7bit",
        "",
        "Please see the attached files.",
    ]
    for n in range(parts):
        lines += [
            f"--{boundary}",
            "Content-Type: application/octet-stream",
            f'Content-Disposition: attachment; filename="{n}"',
            "Content-Transfer-Encoding: base64",
            "",
            "eA==",
        ]
    lines += [f"--{boundary}--", ""]
    return "\n".join(lines).encode()


def peak_bytes_while(action) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = action()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_50_mb_attachment_is_recorded_not_kept_without_decoding_it():
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x17" * (50 * MB)
    raw = with_attachments(
        ("photo.png", png_bytes(), "image", "png"), ("video.mp4", video, "video", "mp4")
    )
    record, peak = peak_bytes_while(lambda: ingest_raw(raw=raw))
    assert record.status == InboundStatus.PROCESSED
    assert record.message.body_text == "Please see the attached files."
    rows = {a.filename: a for a in Attachment.objects.filter(message=record.message)}
    assert rows["photo.png"].kept
    big = rows["video.mp4"]
    assert not big.kept and "the limit is 10.0" in big.not_kept_reason
    assert abs(big.size - len(video)) < len(video) * 0.05  # measured, not decoded
    # The raw message (~68 MB as base64) is stored whole, but the huge part is cut out
    # before parsing (the standard parser alone would need about 7 times the message).
    assert bytes(InboundEmail.objects.get(pk=record.pk).raw) == raw  # kept whole
    assert peak < 1.5 * len(raw), f"peak {peak / MB:.0f} MB for {len(raw) / MB:.0f} MB"


def test_a_zip_bomb_is_never_opened():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (200 * MB))  # 200 MB in about 200 KB
    bomb = buffer.getvalue()
    assert len(bomb) < MB
    raw = with_attachments(("invoice.zip", bomb, "application", "zip"))
    record, peak = peak_bytes_while(lambda: ingest_raw(raw=raw))
    assert record.status == InboundStatus.PROCESSED
    row = Attachment.objects.get(message=record.message)
    assert (row.filename, row.kept, row.size) == ("invoice.zip", False, len(bomb))
    assert "not a photo or PDF" in row.not_kept_reason
    assert peak < 20 * MB  # it was never inflated


def test_a_message_with_10000_parts_is_stored_and_the_rest_noted():
    raw = with_many_parts(10_000)
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.PROCESSED
    assert record.message.body_text == "Please see the attached files."
    noted = Attachment.objects.get(message=record.message, filename="(further parts)")
    assert "were not read" in noted.not_kept_reason
    assert Attachment.objects.filter(message=record.message).count() <= 201


def test_truncated_mime_keeps_what_arrived():
    whole = with_attachments(("photo.png", png_bytes(), "image", "png"))
    # Cut off in the middle of the attachment: no closing boundary, broken base64.
    cut = whole[: whole.index(b"filename=") + 200]
    record = ingest_raw(raw=cut)
    assert record.status == InboundStatus.PROCESSED
    assert record.message.body_text == "Please see the attached files."
    assert bytes(record.raw) == cut
