"""Hypothesis against email intake: generated and mutated raw mail (broken headers, odd
charsets, truncated multiparts, huge headers, NUL and 8-bit bytes) goes through
``ingest_raw`` and ``ingest_many`` as a source hands it over.

What must hold for every input: no exception reaches the caller; exactly one InboundEmail
is stored for it, whole, with a final outcome; a refusal (quarantine) says why in words a
person can act on, never a crash's exception name; and the same bytes delivered again add
no second message to any ticket.
"""

from __future__ import annotations

import contextlib
import logging

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.tests.fuzz import fuzz_settings
from mail.intake import ingest_many, ingest_raw
from mail.models import InboundEmail, InboundStatus
from mail.parsing import UnparseableEmail, parse_email
from tickets.models import Message

pytestmark = pytest.mark.django_db

# What a refusal says; anything else in a quarantine reason is a crash's exception name.
REFUSALS = ("the message is empty", "no usable From address", "not an email: ")

CHARSETS = [
    "utf-8",
    "us-ascii",
    "iso-8859-1",
    "windows-1252",
    "utf-16",
    "utf-7",
    "koi8-r",
    "gb2312",
    "x-no-such-charset",
    "",
    '"utf-8',
    "utf-8\x00",
    "unicode-1-1-utf-7",
    "cp65001",
]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus", ""]

header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "Date",
        "MIME-Version",
    ]
) | st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), max_size=12)
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "Chioma <chioma@example.com>",
            "support@izonie.com",
            "=?utf-8?q?Hello=0D=0ABcc:_victim@example.com?=",
            "=?x-no-such?b?////?=",
            "=?utf-8?b?not base64?=",
            "<a@b> <c@d> <" + "x" * 300 + "@example.com>",
            "multipart/mixed; boundary=XX",
            'text/plain; charset="x-no-such-charset"',
            "attachment; filename*=utf-8''%FF%FE.pdf",
            '"unterminated <quote@example.com>',
            "",
        ]
    ),
)


@st.composite
def bodies(draw) -> bytes:
    """A single part, or a multipart that may be nested, truncated or left unclosed."""
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    text = draw(st.text(max_size=200))
    payload = text.encode("utf-8", "surrogatepass")
    kind = draw(st.sampled_from(["plain", "html", "multipart", "attachment"]))
    if kind in ("plain", "html"):
        return (
            f"Content-Type: text/{kind}; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
        ).encode("utf-8", "surrogatepass") + payload
    if kind == "attachment":
        name = draw(st.text(max_size=40))
        return (
            f"Content-Type: application/octet-stream\r\n"
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
        ).encode("utf-8", "surrogatepass") + payload
    boundary = draw(st.sampled_from(["XX", "=_b", "", "a" * 80, "--"]))
    parts = draw(st.lists(bodies(), max_size=3))
    out = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\npreamble\r\n".encode()
    for part in parts:
        out += f"--{boundary}\r\n".encode() + part + b"\r\n"
    if draw(st.booleans()):
        out += f"--{boundary}--\r\n".encode()
    return out


@st.composite
def raw_mail(draw) -> bytes:
    headers = [
        ("From", draw(header_values | st.just("Chioma <chioma@example.com>"))),
        *draw(st.lists(st.tuples(header_names, header_values), max_size=8)),
    ]
    if draw(st.booleans()):
        # One huge header, folded or not: 64 kB of subject, references or garbage.
        filler = draw(st.sampled_from(["x", "<a@b> ", "é\r\n "]))
        headers.append((draw(header_names), filler * 20_000))
    head = b"".join(
        f"{name}: {value}\r\n".encode("utf-8", "surrogatepass") for name, value in headers
    )
    raw = head + (b"" if draw(st.booleans()) else b"MIME-Version: 1.0\r\n") + draw(bodies())
    # Mutations a transport or a hostile sender makes.
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.sampled_from(["truncate", "nul", "bytes", "bare-lf", "no-blank"]))
        at = draw(st.integers(0, len(raw)))
        if mutation == "truncate":
            raw = raw[:at]
        elif mutation == "nul":
            raw = raw[:at] + b"\x00" * draw(st.integers(1, 4)) + raw[at:]
        elif mutation == "bytes":
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=16)) + raw[at:]
        elif mutation == "bare-lf":
            raw = raw.replace(b"\r\n", b"\n")
        else:
            raw = raw.replace(b"\r\n\r\n", b"\r\n", 1)
    return raw


def _assert_refusal_or_outcome(record: InboundEmail, raw: bytes) -> None:
    stored = InboundEmail.objects.get(pk=record.pk)
    assert bytes(stored.raw) == raw, "the raw mail is kept exactly as received"
    assert stored.status != InboundStatus.RECEIVED, "every mail ends with an outcome"
    if stored.status == InboundStatus.QUARANTINED:
        assert stored.reason.startswith(REFUSALS), f"a crash, not a refusal: {stored.reason}"


def _assert_parses_or_refuses(raw: bytes) -> None:
    # The parser's own contract: a ParsedEmail, or UnparseableEmail (intake would keep
    # any other exception's name as a quarantine reason, hiding the bug).
    with contextlib.suppress(UnparseableEmail):
        parse_email(raw, max_attachment_bytes=10 * 1024 * 1024)


@given(raw=raw_mail())
@example(raw=b"From: a@example.com\r\nSubject: nul \x00 in a header\r\n\r\nbody")
@example(raw=b"From: a@example.com\r\n\r\nnul \x00 in the body")
@example(raw=b"From: nul\x00@example.com\r\nMessage-ID: <nul\x00@x>\r\n\r\nbody")
@example(raw=b"From: a@example.com\r\nSubject: =?utf-8?q?a=00b?=\r\n\r\nbody")
@example(
    raw=b"From: a@example.com\r\nContent-Type: text/html\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>a=00b</p>"
)
@example(
    raw=b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--XX\r\n"
    b"Content-Type: application/pdf\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''a%00b.pdf\r\n\r\n%PDF-1.4\r\n--XX--\r\n"
)
@settings(
    fuzz_settings(max_examples=60),
    # Each example writes a few rows; the database is the slow part, and it is the point.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_raw_mail_is_stored_once_with_an_outcome(raw, caplog):
    _assert_parses_or_refuses(raw)
    # Each example starts from the same database: rolled back at the end.
    with transaction.atomic():
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            before = InboundEmail.objects.count()
            first = ingest_raw(raw=raw, source="fuzz")
            assert InboundEmail.objects.count() == before + 1
            _assert_refusal_or_outcome(first, raw)
            messages = Message.objects.count()

            again = ingest_raw(raw=raw, source="fuzz")

            _assert_refusal_or_outcome(again, raw)
            assert Message.objects.count() == messages, "the same mail twice is stored once"
            if first.status == InboundStatus.PROCESSED:
                assert again.status == InboundStatus.DUPLICATE
                assert again.message_id == first.message_id
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        transaction.set_rollback(True)


@given(raws=st.lists(raw_mail(), min_size=2, max_size=5))
@settings(
    fuzz_settings(max_examples=15),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_batch_of_any_mail_stores_each_once(raws):
    with transaction.atomic():
        records = ingest_many(raws, source="fuzz")
        assert len(records) == len(raws)
        for record, raw in zip(records, raws, strict=True):
            _assert_refusal_or_outcome(record, raw)
        messages = Message.objects.count()
        # A source delivers the whole batch again (it crashed before marking it read).
        ingest_many(raws, source="fuzz")
        assert Message.objects.count() == messages
        assert InboundEmail.objects.count() == 2 * len(raws)
        transaction.set_rollback(True)
