"""Quoted text, signatures and forwards are told apart from the new reply for display."""

from email.message import EmailMessage

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory
from mail.intake import ingest_raw
from mail.quoting import reply_parts
from mail.tests.test_intake import mail

REPLY_WITH_HISTORY = """Thanks, the tracking number works now.

Best regards,
Chioma Okafor
+234 800 000 0000

On Tue, 24 Nov 2026 at 10:00, Izonie Support <support@izonie.com> wrote:
> Your phone ships tomorrow.
> Tracking number: NG123
"""


def test_new_text_signature_and_quote_are_separated():
    parts = reply_parts(REPLY_WITH_HISTORY)
    assert parts.new == "Thanks, the tracking number works now."
    assert "Chioma Okafor" in parts.signature and "+234" in parts.signature
    assert "Your phone ships tomorrow." in parts.quoted
    assert parts.has_hidden_text and not parts.forwarded


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        ("Hi, any news?\n\nSent from my iPhone", "Sent from my iPhone"),
        ("Any news?\n-- \nAda", "Ada"),
    ],
)
def test_mobile_and_dash_dash_signatures(body, signature):
    parts = reply_parts(body)
    assert parts.new.startswith(("Hi, any news?", "Any news?"))
    assert signature in parts.signature


def test_a_forward_keeps_the_forwarded_message_as_content():
    body = (
        "The seller refuses, see below.\n\n"
        "---------- Forwarded message ---------\nFrom: Seller <s@shop.ng>\n"
        "Subject: Your order\n\nWe will not refund this order.\n"
    )
    parts = reply_parts(body)
    assert parts.new == "The seller refuses, see below."
    assert "We will not refund this order." in parts.forwarded
    assert "From: Seller" in parts.forwarded


def test_text_that_is_all_quote_is_shown_whole_rather_than_hidden():
    body = "On Mon, 23 Nov 2026, Ada <a@x.com> wrote:\n> only history\n"
    parts = reply_parts(body)
    assert "only history" in parts.new and not parts.has_hidden_text


def test_plain_text_without_quotes_is_unchanged():
    parts = reply_parts("Where is my order 123?")
    assert parts.new == "Where is my order 123?" and not parts.has_hidden_text


@pytest.mark.django_db
def test_a_message_forwarded_as_an_attachment_is_marked_as_forwarded():
    inner = EmailMessage()
    inner["From"] = "Seller <s@shop.ng>"
    inner["Subject"] = "Refund"
    inner.set_content("No refund for you.")
    outer = EmailMessage()
    outer["From"] = "c@example.com"
    outer["Subject"] = "Fwd: Refund"
    outer["Message-ID"] = "<fw@example.com>"
    outer.set_content("See the seller's answer.")
    outer.add_attachment(inner)
    record = ingest_raw(raw=outer.as_bytes())
    parts = reply_parts(record.message.body_text)
    assert parts.new == "See the seller's answer."
    assert "From: Seller <s@shop.ng>" in parts.forwarded
    assert "No refund for you." in parts.forwarded


@pytest.mark.django_db
def test_console_shows_the_new_reply_with_quoted_text_behind_a_disclosure():
    ticket = ingest_raw(raw=mail(body=REPLY_WITH_HISTORY)).ticket
    client = Client()
    client.force_login(AgentFactory())
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    new_at = page.index("Thanks, the tracking number works now.")
    disclosure_at = page.index("<summary>Show quoted text</summary>")
    # The quote and signature appear only inside the disclosure, after the new text.
    assert new_at < disclosure_at < page.index("Your phone ships tomorrow.")
    assert disclosure_at < page.index("Chioma Okafor")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_quoted_text_opens_on_demand_in_chromium_at_phone_width(page, live_server, login):
    ticket = ingest_raw(raw=mail(body=REPLY_WITH_HISTORY)).ticket
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    message = page.locator(f"#message-{ticket.messages.get(direction='in').pk}")
    new_part = message.locator(".email-new")
    assert new_part.inner_text() == "Thanks, the tracking number works now."
    assert new_part.is_visible()
    original = message.locator(".email-original .body")
    assert "Your phone ships tomorrow." in original.text_content()
    assert not original.is_visible()
    message.get_by_text("Show quoted text").click()
    assert original.is_visible()
    assert "Your phone ships tomorrow." in original.inner_text()
    # Nothing in the thread is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
