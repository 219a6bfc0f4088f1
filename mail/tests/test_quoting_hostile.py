"""The reply split runs each time an agent opens an email ticket, on up to 50,000
characters the sender chose: linear time, and nothing hidden that is not history."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail.quoting import reply_parts

EMAIL_LIMIT = 50_000

LINE_PIECES = st.sampled_from(
    [
        "On ",
        "wrote:",
        "Am ",
        "schrieb:",
        "Le ",
        "a écrit :",
        "From: ",
        "Sent: ",
        "> ",
        ">",
        "-",
        "--",
        "-- ",
        "_",
        " ",
        "\n",
        "x",
        "Original Message",
        "Forwarded message",
        "Sent from my ",
        "Regards,",
        "\t",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(LINE_PIECES, min_size=1, max_size=6))
def test_repeated_hostile_bodies_up_to_the_limit_are_split_fast(pieces):
    unit = "".join(pieces)
    body = (unit * (EMAIL_LIMIT // len(unit) + 1))[:EMAIL_LIMIT]
    started = time.process_time()
    parts = reply_parts(body)
    assert time.process_time() - started < 1.0, unit
    # Nothing is lost: every part is a piece of the body.
    for part in (parts.new, parts.signature, parts.quoted, parts.forwarded):
        assert part in body


def test_the_reported_on_without_wrote_line_is_split_fast():
    # mailparser-reply took 44 s on this at 50,000 characters.
    body = "On " + "x " * 24_998 + "\n"
    started = time.process_time()
    parts = reply_parts(body)
    assert time.process_time() - started < 0.5
    assert parts.new == body.strip() and not parts.has_hidden_text


def test_an_outlook_header_block_starts_the_quote():
    body = (
        "Still waiting for the refund.\n\n"
        "From: Izonie Support <support@izonie.com>\nSent: Monday, 30 November 2026 10:02\n"
        "To: Chinedu\nSubject: Your refund\n\nWe have approved your refund."
    )
    parts = reply_parts(body)
    assert parts.new == "Still waiting for the refund."
    assert parts.quoted.startswith("From: Izonie Support") and "approved" in parts.quoted


def test_a_wrapped_gmail_header_starts_the_quote():
    body = (
        "Thanks!\n\nOn Mon, 30 Nov 2026 at 10:02, Izonie Support <\n"
        "support@izonie.com> wrote:\n> Your refund is approved."
    )
    parts = reply_parts(body)
    assert parts.new == "Thanks!" and "Your refund is approved." in parts.quoted
