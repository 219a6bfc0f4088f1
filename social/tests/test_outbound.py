"""Replies leave through the platforms' send APIs via the outbox: inside the messaging
window, with the human-agent tag after 24 hours, refused clearly once the window has
closed; documented API errors become a visible failure or a retry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from conftest import png_bytes
from social.models import SocialContact
from social.tests.conftest import (
    PAGE_ID,
    PAGE_TOKEN,
    TIKTOK_TOKEN,
    meta_delivery,
    post_meta,
    post_tiktok,
    text_event,
    tiktok_message,
)
from social.tests.platform_server import Answer, meta_error, tiktok_error
from tickets import services as ticket_services
from tickets.attachments import CheckedUpload
from tickets.choices import DeliveryStatus, EventKind
from tickets.models import OutboundMessage, Ticket

pytestmark = pytest.mark.django_db

ORDER_TEXT = "Where is my order? It was meant to arrive on Monday and the tracking has not moved."


@pytest.fixture
def facebook_ticket(client, fb_page, platform, run_tasks) -> Ticket:
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-7", ORDER_TEXT)])))
    run_tasks()
    platform.requests.clear()
    return Ticket.objects.get()


def reply(ticket: Ticket, run_tasks, body: str = "It arrives tomorrow.") -> OutboundMessage:
    with TestCase.captureOnCommitCallbacks(execute=True):
        message = ticket_services.ticket_reply(ticket=ticket, author=AgentFactory(), body=body)
    run_tasks()
    return OutboundMessage.objects.get(message=message)


def last_inbound(days: float) -> None:
    SocialContact.objects.update(last_inbound_at=timezone.now() - dt.timedelta(days=days))


def test_a_reply_inside_24_hours_is_a_response(facebook_ticket, platform, run_tasks):
    outbound = reply(facebook_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.SENT
    sent = platform.sent(f"/v21.0/{PAGE_ID}/messages")[0]
    assert sent.body == {
        "recipient": {"id": "psid-7"},
        "message": {"text": "It arrives tomorrow."},
        "messaging_type": "RESPONSE",
    }
    assert sent.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"


def _photo_upload(name: str = "label.png") -> CheckedUpload:
    content = png_bytes()
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    return CheckedUpload(upload=upload, filename=name, content_type="image/png", size=len(content))


def reply_with_photo(ticket: Ticket, run_tasks) -> OutboundMessage:
    with TestCase.captureOnCommitCallbacks(execute=True):
        message = ticket_services.ticket_reply(
            ticket=ticket,
            author=AgentFactory(),
            body="Here is your return label.",
            uploads=[_photo_upload()],
        )
    run_tasks()
    return OutboundMessage.objects.get(message=message)


def test_a_reply_with_a_photo_sends_the_text_then_the_photo_as_an_upload(
    facebook_ticket, platform, run_tasks
):
    outbound = reply_with_photo(facebook_ticket, run_tasks)

    assert outbound.status == DeliveryStatus.SENT
    text, photo = platform.sent(f"/v21.0/{PAGE_ID}/messages")
    assert text.body["message"] == {"text": "Here is your return label."}
    assert json.loads(photo.body["recipient"]) == {"id": "psid-7"}
    assert photo.body["messaging_type"] == "RESPONSE"
    assert json.loads(photo.body["message"]) == {
        "attachment": {"type": "image", "payload": {"is_reusable": False}}
    }
    upload = photo.body["filedata"]
    assert (upload.filename, upload.content_type, upload.content) == (
        "label.png",
        "image/png",
        png_bytes(),
    )
    assert photo.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"


def test_a_retry_after_a_failed_upload_sends_only_what_is_left(
    facebook_ticket, platform, run_tasks, settings
):
    # The text goes; the upload meets a temporary error; the outbox tries again.
    platform.queue(
        f"/v21.0/{PAGE_ID}/messages",
        Answer(200, json.dumps({"recipient_id": "psid-7", "message_id": "m_1"}).encode()),
        meta_error(2, "Service temporarily unavailable", status=503),
    )
    outbound = reply_with_photo(facebook_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.SENT
    calls = platform.sent(f"/v21.0/{PAGE_ID}/messages")
    texts = [c for c in calls if isinstance(c.body, dict) and "text" in str(c.body.get("message"))]
    uploads = [c for c in calls if "filedata" in (c.body or {})]
    assert len(texts) == 1  # the customer gets the text once
    assert len(uploads) == 2  # the failed upload, then the one that went through
    assert outbound.attempts == 2


def test_a_photo_for_tiktok_is_not_sent_and_the_agent_is_told(client, tiktok, platform, run_tasks):
    post_tiktok(client, tiktok_message("tt-user-1", ORDER_TEXT))
    run_tasks()
    platform.requests.clear()

    outbound = reply_with_photo(Ticket.objects.get(), run_tasks)

    assert [c.body["text"]["body"] for c in platform.sent("/business/message/send/")] == [
        "Here is your return label."
    ]
    assert outbound.status == DeliveryStatus.FAILED
    assert "text reached the customer" in outbound.last_error
    assert "label.png" in outbound.last_error


def test_after_24_hours_a_reply_carries_the_human_agent_tag(facebook_ticket, platform, run_tasks):
    last_inbound(days=2)
    assert reply(facebook_ticket, run_tasks).status == DeliveryStatus.SENT
    sent = platform.sent("/messages")[0].body
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_after_7_days_the_agent_is_told_the_window_closed_and_offered_email(
    facebook_ticket, platform, run_tasks
):
    facebook_ticket.requester.email = "ada@example.com"
    facebook_ticket.requester.save()
    last_inbound(days=8)
    outbound = reply(facebook_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.FAILED
    assert outbound.attempts == 1  # not retried: retrying cannot help
    assert "messaging window has closed" in outbound.last_error
    assert "ada@example.com" in outbound.last_error
    assert not platform.sent("/messages")
    assert facebook_ticket.events.filter(kind=EventKind.DELIVERY_FAILED).exists()


def test_without_an_email_the_agent_is_told_to_wait_for_the_customer(facebook_ticket, run_tasks):
    last_inbound(days=8)
    outbound = reply(facebook_ticket, run_tasks)
    assert "has given no email address" in outbound.last_error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            meta_error(190, "Error validating access token: Session has expired.", subcode=463),
            "Session has expired. (code 190, subcode 463)",
        ),
        (meta_error(551, "This person isn't available right now."), "isn't available"),
        (
            meta_error(10, "This message is sent outside of allowed window.", subcode=2018278),
            "outside of allowed window",
        ),
        (meta_error(200, "Requires pages_messaging permission to manage the object"), "(code 200)"),
    ],
    ids=["expired-token", "blocked-user", "outside-window", "no-permission"],
)
def test_permanent_graph_errors_fail_the_delivery_with_the_apis_reason(
    facebook_ticket, platform, run_tasks, error, reason
):
    platform.queue(f"/v21.0/{PAGE_ID}/messages", error)
    outbound = reply(facebook_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.FAILED
    assert outbound.attempts == 1
    assert reason in outbound.last_error
    assert PAGE_TOKEN not in outbound.last_error


@pytest.mark.parametrize(
    "error",
    [
        Answer(503, b"Service Unavailable"),
        meta_error(4, "Application request limit reached"),
        meta_error(
            2, "An unexpected error has occurred. Please retry your request later.", status=500
        ),
    ],
    ids=["http-503", "rate-limit", "temporary"],
)
def test_transient_errors_are_retried_by_the_outbox(facebook_ticket, platform, run_tasks, error):
    platform.queue(f"/v21.0/{PAGE_ID}/messages", error)
    outbound = reply(facebook_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.SENT
    assert outbound.attempts == 2
    assert len(platform.sent("/messages")) == 2


# --- TikTok


@pytest.fixture
def tiktok_ticket(client, tiktok, platform, run_tasks) -> Ticket:
    post_tiktok(client, tiktok_message("tt-user-1", ORDER_TEXT, conversation="conv-42"))
    run_tasks()
    platform.requests.clear()
    return Ticket.objects.get()


def test_a_tiktok_reply_goes_to_the_conversation(tiktok_ticket, tiktok, platform, run_tasks):
    assert reply(tiktok_ticket, run_tasks).status == DeliveryStatus.SENT
    sent = platform.sent("/open_api/v1.3/business/message/send/")[0]
    assert sent.body == {
        "business_id": tiktok.external_id,
        "recipient_type": "CONVERSATION",
        "recipient": "conv-42",
        "message_type": "TEXT",
        "text": {"body": "It arrives tomorrow."},
    }
    assert sent.headers["Access-Token"] == TIKTOK_TOKEN


def test_a_tiktok_error_code_fails_the_delivery_with_its_message(
    tiktok_ticket, platform, run_tasks
):
    platform.queue(
        "/open_api/v1.3/business/message/send/",
        tiktok_error(40105, "Access token is incorrect or has been revoked."),
    )
    outbound = reply(tiktok_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.FAILED
    assert "has been revoked. (code 40105)" in outbound.last_error


def test_a_tiktok_rate_limit_is_retried(tiktok_ticket, platform, run_tasks):
    platform.queue(
        "/open_api/v1.3/business/message/send/", tiktok_error(40100, "Too many requests.")
    )
    outbound = reply(tiktok_ticket, run_tasks)
    assert (outbound.status, outbound.attempts) == (DeliveryStatus.SENT, 2)


def test_a_tiktok_reply_after_its_window_is_refused(tiktok_ticket, platform, run_tasks):
    last_inbound(days=3)
    outbound = reply(tiktok_ticket, run_tasks)
    assert outbound.status == DeliveryStatus.FAILED
    assert "TikTok messaging window has closed" in outbound.last_error
