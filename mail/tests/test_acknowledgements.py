"""New email requests are acknowledged with their number and reply deadline, within limits."""

import email
import email.policy
from zoneinfo import ZoneInfo

import pytest

from mail.intake import ingest_many, ingest_raw
from mail.models import AutoAcknowledgement, InboundStatus
from mail.tests.test_bounces import postfix_dsn
from mail.tests.test_intake import IZONIE_ACK_LIMIT, mail
from policy.loader import PolicyError, get_policy, parse_policy
from policy.tests.test_loader import broken
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def acknowledgements(smtp_server):
    """Sent mail less the one request for photos (``conduct``) that a Technical Support
    request also gets."""
    photo_request = get_policy().category("technical_support").photo_request[:40]
    return [
        message
        for message in smtp_server.messages
        if photo_request
        not in email.message_from_string(message.as_string(), policy=email.policy.default)
        .get_body(("plain",))
        .get_content()
    ]


@pytest.fixture
def deliver(django_capture_on_commit_callbacks, run_tasks):
    def ingest(raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            record = ingest_raw(raw=raw)
        run_tasks()
        return record

    return ingest


def test_a_new_request_is_acknowledged_with_its_number_and_reply_deadline(
    smtp_server,
    deliver,
):
    ticket = deliver(mail(sender="Chioma Okafor <chioma@example.com>")).ticket
    [sent] = acknowledgements(smtp_server)
    assert sent["To"] == "chioma@example.com"
    assert sent["In-Reply-To"] == "<m1@example.com>"
    # Marked automatic, so the customer's own auto-responder does not answer it.
    assert sent["Auto-Submitted"] == "auto-replied"
    body = email.message_from_string(sent.as_string(), policy=email.policy.default)
    text = body.get_body(("plain",)).get_content()
    due = ticket.first_reply_due_at.astimezone(ZoneInfo("Africa/Lagos"))
    assert f"Your request number is {ticket.reference}." in text
    assert f"by {due.strftime('%A %-d %B %Y, %H:%M')} (Africa/Lagos)" in text
    assert "We answer your email within 24 hours." in text
    # The acknowledgement is not an answer: the first-reply promise still runs.
    ticket.refresh_from_db()
    assert ticket.first_replied_at is None and ticket.first_reply_due_at == due


def test_acknowledgements_are_limited_per_sender(smtp_server, deliver):
    for n in range(IZONIE_ACK_LIMIT + 2):
        deliver(mail(message_id=f"<new{n}@example.com>", subject=f"Problem {n}"))
    deliver(mail(sender="bisi@example.com", message_id="<b@example.com>"))
    assert Ticket.objects.count() == IZONIE_ACK_LIMIT + 3
    recipients = [m["To"] for m in acknowledgements(smtp_server)]
    assert recipients.count("chioma@example.com") == IZONIE_ACK_LIMIT
    assert recipients.count("bisi@example.com") == 1


def test_the_limit_holds_within_one_batch_and_across_batches(
    smtp_server,
    django_capture_on_commit_callbacks,
    run_tasks,
):
    def batch(numbers):
        with django_capture_on_commit_callbacks(execute=True):
            ingest_many(
                mail(message_id=f"<new{n}@example.com>", subject=f"Problem {n}") for n in numbers
            )
        run_tasks()

    batch(range(IZONIE_ACK_LIMIT - 1))
    batch(range(IZONIE_ACK_LIMIT - 1, IZONIE_ACK_LIMIT + 3))  # over the limit mid-batch
    assert Ticket.objects.count() == IZONIE_ACK_LIMIT + 3
    recipients = [m["To"] for m in acknowledgements(smtp_server)]
    assert recipients == ["chioma@example.com"] * IZONIE_ACK_LIMIT
    assert AutoAcknowledgement.objects.count() == IZONIE_ACK_LIMIT


def test_replies_no_reply_senders_and_machine_mail_get_no_acknowledgement(
    smtp_server,
    deliver,
):
    deliver(mail())
    deliver(mail(message_id="<m2@example.com>", In_Reply_To="<m1@example.com>"))
    deliver(mail(sender="no-reply@shop.example", message_id="<n@shop.example>"))
    auto = deliver(
        mail(message_id="<ooo@example.com>", subject="Out of office", Auto_Submitted="auto-replied")
    )
    bounce = deliver(postfix_dsn("whatever@izonie.com"))
    assert (auto.status, bounce.status) == (InboundStatus.IGNORED, InboundStatus.BOUNCE)
    assert [m["To"] for m in acknowledgements(smtp_server)] == ["chioma@example.com"]
    assert AutoAcknowledgement.objects.count() == 1


def test_the_policy_rejects_an_unknown_placeholder_in_the_text():
    def change(data):
        data["channels"]["email"]["acknowledgement"]["text"] = "Due {deadline}"

    with pytest.raises(PolicyError) as excinfo:
        parse_policy(broken(change))
    assert any(
        "channels.email.acknowledgement.text" in p and "deadline" in p
        for p in excinfo.value.problems
    )
