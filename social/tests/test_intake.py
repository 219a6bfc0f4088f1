"""Deliveries in Meta's and TikTok's documented formats, processed by the background
worker into tickets: one conversation per person per account, duplicates stored once,
attachments fetched under the policy's limits, receipts and echoes kept off the thread."""

from __future__ import annotations

import pytest

from conftest import png_bytes
from social import services
from social.models import (
    DeliveryStatus,
    EventKind,
    EventOutcome,
    InboundEvent,
    SocialContact,
    SocialConversation,
    WebhookDelivery,
)
from social.tests.conftest import (
    IG_ID,
    PAGE_ID,
    PAGE_TOKEN,
    meta_delivery,
    new_mid,
    post_meta,
    post_tiktok,
    text_event,
    tiktok_message,
)
from social.tests.platform_server import Answer, PlatformServer
from tickets.choices import Channel, Direction, TicketStatus
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

ORDER_TEXT = "Where is my order? It was meant to arrive on Monday and the tracking has not moved."


def test_a_message_opens_a_facebook_ticket_with_the_senders_profile_name(
    client, fb_page, platform, run_tasks
):
    platform.profiles["psid-ada"] = {"first_name": "Ada", "last_name": "Obi"}
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-ada", ORDER_TEXT)])))
    run_tasks()
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.FACEBOOK
    assert str(ticket.requester) == "Ada Obi"
    message = ticket.messages.get(direction=Direction.INBOUND)
    assert message.body_text == ORDER_TEXT
    assert message.author_name == "Ada Obi"
    profile_call = next(r for r in platform.requests if r.path.endswith("/psid-ada"))
    assert profile_call.headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert "access_token" not in profile_call.query  # the token never travels in a URL
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED


def test_a_person_keeps_one_open_conversation_per_account(
    client, fb_page, instagram, platform, run_tasks
):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT)])))
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Any news?")])))
    run_tasks()
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.filter(direction=Direction.INBOUND).count() == 2
    # Instagram is another account: another conversation.
    post_meta(
        client,
        meta_delivery(
            (IG_ID, [text_event("psid-1", ORDER_TEXT, recipient=IG_ID)]), obj="instagram"
        ),
    )
    run_tasks()
    assert sorted(Ticket.objects.values_list("channel", flat=True)) == ["facebook", "instagram"]


def test_after_a_ticket_is_closed_the_next_message_opens_a_new_one(
    client, fb_page, platform, run_tasks
):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT)])))
    run_tasks()
    Ticket.objects.update(status=TicketStatus.CLOSED)
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "A new problem: refund")])))
    run_tasks()
    assert Ticket.objects.count() == 2
    assert SocialContact.objects.count() == 1


def test_a_batched_delivery_with_several_entries_and_messages(
    client, fb_page, instagram, platform, run_tasks
):
    payload = meta_delivery(
        (PAGE_ID, [text_event("psid-1", ORDER_TEXT), text_event("psid-2", ORDER_TEXT)]),
        (
            PAGE_ID,
            [text_event("psid-1", "Also, the box was open"), text_event("psid-3", ORDER_TEXT)],
        ),
    )
    assert post_meta(client, payload).json()["received"] == 4
    run_tasks()
    assert Ticket.objects.count() == 3
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 4
    assert InboundEvent.objects.filter(outcome=EventOutcome.STORED).count() == 4


def test_a_retried_delivery_is_stored_once(client, fb_page, platform, run_tasks):
    payload = meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT, mid="m_retried_1")]))
    post_meta(client, payload)
    run_tasks()
    # Meta retries the same delivery (and, later, within another batch).
    post_meta(client, payload)
    post_meta(
        client,
        meta_delivery(
            (
                PAGE_ID,
                [
                    text_event("psid-1", ORDER_TEXT, mid="m_retried_1"),
                    text_event("psid-1", "And another thing"),
                ],
            )
        ),
    )
    run_tasks()
    assert WebhookDelivery.objects.count() == 3  # every delivery is kept as received...
    assert Message.objects.filter(external_id="m_retried_1").count() == 1  # ...stored once
    assert InboundEvent.objects.count() == 2


def test_running_the_same_delivery_twice_changes_nothing(client, fb_page, platform, run_tasks):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT)])))
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(status=DeliveryStatus.RECEIVED)  # as after a lost update
    assert services.delivery_process(delivery_id=delivery.pk) == 0
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def test_a_crash_mid_delivery_loses_nothing_and_doubles_nothing(
    client, fb_page, platform, run_tasks, monkeypatch
):
    post_meta(
        client,
        meta_delivery(
            (PAGE_ID, [text_event("psid-1", ORDER_TEXT), text_event("psid-2", ORDER_TEXT)])
        ),
    )
    delivery = WebhookDelivery.objects.get()
    real_act = services._act
    calls = []

    def crash_on_second(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("worker killed")  # not an Exception: nothing catches it
        real_act(**kwargs)

    monkeypatch.setattr(services, "_act", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        services.delivery_process(delivery_id=delivery.pk)
    assert Ticket.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RECEIVED  # still to do
    monkeypatch.setattr(services, "_act", real_act)
    services.delivery_process(delivery_id=delivery.pk)
    assert Ticket.objects.count() == 2
    assert InboundEvent.objects.count() == 2


def test_echoes_receipts_and_reactions_are_recorded_without_messages(
    client, fb_page, platform, run_tasks
):
    mid = new_mid()
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT, mid=mid)])))
    run_tasks()
    ticket = Ticket.objects.get()
    before = ticket.messages.count()
    stamp = 1764784800000
    items = [
        # Our own reply, echoed back by Meta (sender is the page).
        {
            "sender": {"id": PAGE_ID},
            "recipient": {"id": "psid-1"},
            "timestamp": stamp,
            "message": {"mid": "m_echo_1", "is_echo": True, "app_id": 1517, "text": "Hello"},
        },
        {
            "sender": {"id": "psid-1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": stamp,
            "delivery": {"mids": ["m_sent_1"], "watermark": stamp},
        },
        {
            "sender": {"id": "psid-1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": stamp,
            "read": {"watermark": stamp},
        },
        {
            "sender": {"id": "psid-1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": stamp,
            "reaction": {"mid": mid, "action": "react", "reaction": "love", "emoji": "❤"},
        },
    ]
    post_meta(client, meta_delivery((PAGE_ID, items)))
    run_tasks()
    assert ticket.messages.count() == before
    kinds = dict(InboundEvent.objects.values_list("kind", "outcome"))
    assert kinds[EventKind.ECHO] == EventOutcome.IGNORED
    assert kinds[EventKind.READ] == EventOutcome.RECORDED
    assert kinds[EventKind.DELIVERY] == EventOutcome.RECORDED
    reaction = InboundEvent.objects.get(kind=EventKind.REACTION)
    assert reaction.ticket == ticket and "❤" in reaction.reason
    assert SocialContact.objects.get().last_read_at is not None


def test_an_unknown_page_id_is_acknowledged_and_ignored_with_the_reason(
    client, fb_page, platform, run_tasks
):
    response = post_meta(
        client, meta_delivery(("999999", [text_event("psid-1", ORDER_TEXT, recipient="999999")]))
    )
    assert response.status_code == 200  # refusing would make Meta retry for hours
    run_tasks()
    assert not Ticket.objects.exists()
    event = InboundEvent.objects.get()
    assert event.outcome == EventOutcome.IGNORED
    assert "'999999'" in event.reason


def test_a_postback_is_a_customer_message(client, fb_page, platform, run_tasks):
    item = {
        "sender": {"id": "psid-1"},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1764784800000,
        "postback": {"mid": "m_pb_1", "title": "Track my order", "payload": "TRACK_ORDER"},
    }
    post_meta(client, meta_delivery((PAGE_ID, [item])))
    run_tasks()
    assert (
        Ticket.objects.get().messages.get(direction=Direction.INBOUND).body_text == "Track my order"
    )


def test_an_image_is_fetched_and_stored(client, fb_page, platform, run_tasks):
    platform.files["/cdn/photo.png"] = Answer(200, png_bytes(), {"Content-Type": "image/png"})
    attachment = {"type": "image", "payload": {"url": f"{platform.url}/cdn/photo.png"}}
    post_meta(
        client,
        meta_delivery(
            (PAGE_ID, [text_event("psid-1", "The screen is cracked", attachments=[attachment])])
        ),
    )
    run_tasks()
    stored = Message.objects.get(direction=Direction.INBOUND).attachments.get()
    assert stored.kept and stored.content_type == "image/png"
    assert stored.file.read() == png_bytes()


def test_an_image_without_text_opens_a_ticket(client, fb_page, platform, run_tasks):
    platform.files["/cdn/photo.png"] = Answer(200, png_bytes(), {"Content-Type": "image/png"})
    item = text_event(
        "psid-1",
        "",
        attachments=[{"type": "image", "payload": {"url": f"{platform.url}/cdn/photo.png"}}],
    )
    del item["message"]["text"]
    post_meta(client, meta_delivery((PAGE_ID, [item])))
    run_tasks()
    assert Message.objects.get(direction=Direction.INBOUND).attachments.get().kept


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(200, b"x" * 10, {"Content-Length": str(50 * 1024 * 1024)}), "the limit is 10.0"),
        (Answer(404, b"gone"), "HTTP 404"),
        (Answer(200, b"#!/bin/sh\necho hi\n", {"Content-Type": "image/png"}), "not a photo or PDF"),
    ],
    ids=["huge", "failing-url", "script-disguised-as-png"],
)
def test_an_attachment_not_kept_is_recorded_with_the_reason(
    client, fb_page, platform, run_tasks, answer, reason
):
    platform.files["/cdn/file"] = answer
    attachment = {"type": "file", "payload": {"url": f"{platform.url}/cdn/file"}}
    post_meta(
        client,
        meta_delivery((PAGE_ID, [text_event("psid-1", "See attached", attachments=[attachment])])),
    )
    run_tasks()
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.body_text == "See attached"  # the message itself is not lost
    refused = message.attachments.get()
    assert not refused.kept
    assert reason in refused.not_kept_reason


def test_a_huge_attachment_is_refused_while_reading_when_its_size_is_not_declared(
    client, fb_page, platform, run_tasks, settings
):
    # Chunked: no Content-Length, so only counting the bytes read can stop it.
    platform.files["/cdn/stream"] = Answer(200, b"\x89PNG" + b"0" * 300_000, {"Content-Length": ""})
    limits_file = settings.IZONIE_POLICY_FILE.read_text().replace(
        "max_bytes: 10485760", "max_bytes: 100000"
    )
    policy = settings.MEDIA_ROOT.parent / "policy.yaml"
    policy.write_text(limits_file)
    settings.IZONIE_POLICY_FILE = policy
    from policy.loader import reset_policy_cache

    reset_policy_cache()
    attachment = {"type": "file", "payload": {"url": f"{platform.url}/cdn/stream"}}
    post_meta(
        client, meta_delivery((PAGE_ID, [text_event("psid-1", "Video", attachments=[attachment])]))
    )
    run_tasks()
    refused = Message.objects.get(direction=Direction.INBOUND).attachments.get()
    assert "larger than the limit" in refused.not_kept_reason


def test_a_ticket_rule_refusing_the_message_is_recorded(client, fb_page, platform, run_tasks):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "x" * 60_000)])))
    run_tasks()
    event = InboundEvent.objects.get()
    assert event.outcome == EventOutcome.REFUSED
    assert "the limit is 50,000" in event.reason
    assert not Ticket.objects.exists()


# --- TikTok


def test_a_tiktok_message_opens_a_tiktok_ticket(client, tiktok, platform, run_tasks):
    post_tiktok(
        client, tiktok_message("tt-user-1", ORDER_TEXT, name="ada_k", conversation="conv-9")
    )
    run_tasks()
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.TIKTOK
    assert str(ticket.requester) == "ada_k"
    assert SocialContact.objects.get().conversation_id == "conv-9"


def test_a_tiktok_image_is_fetched_through_the_media_download_api(
    client, tiktok, platform, run_tasks
):
    platform.files["/tiktok-media/media-7.png"] = Answer(
        200, png_bytes(), {"Content-Type": "image/png"}
    )
    post_tiktok(
        client,
        tiktok_message("tt-user-1", "", kind="image", extra={"image": {"media_id": "media-7"}}),
    )
    run_tasks()
    assert Message.objects.get(direction=Direction.INBOUND).attachments.get().kept
    download = platform.sent("/business/message/media/download/")[0]
    assert download.body["media_id"] == "media-7"
    assert download.headers["Access-Token"]


def test_a_retried_tiktok_event_and_our_own_echo_are_not_stored_twice(
    client, tiktok, platform, run_tasks
):
    event = tiktok_message("tt-user-1", ORDER_TEXT, message_id="tt-msg-1")
    post_tiktok(client, event)
    post_tiktok(client, event)
    post_tiktok(client, tiktok_message("izonie", "Our reply", event="im_send_msg"))
    run_tasks()
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert (
        InboundEvent.objects.filter(kind=EventKind.ECHO, outcome=EventOutcome.IGNORED).count() == 1
    )


def test_conversation_is_linked_to_the_ticket(client, fb_page, platform, run_tasks):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT)])))
    run_tasks()
    assert SocialConversation.objects.get().ticket == Ticket.objects.get()


def test_deliveries_left_unprocessed_are_queued_again_and_stored_once(
    client, fb_page, platform, run_tasks
):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", ORDER_TEXT)])))
    DBTaskResult.objects.all().delete()  # the worker died holding the task
    WebhookDelivery.objects.update(received_at=timezone.now() - dt.timedelta(minutes=10))
    call_command("social_requeue", "--older-than", "300")
    call_command("social_requeue", "--older-than", "300")  # twice: still harmless
    run_tasks()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


# --- Attachment links are fetched only from the platforms' media hosts (core.outbound)


@pytest.fixture
def internal_service():
    """Something on this machine's loopback that a link must never reach."""
    server = PlatformServer().start()
    server.files["/admin"] = Answer(200, b"internal", {"Content-Type": "image/png"})
    yield server
    server.stop()


def _image_message(client, url: str) -> None:
    attachment = {"type": "image", "payload": {"url": url}}
    post_meta(
        client, meta_delivery((PAGE_ID, [text_event("psid-1", "Look", attachments=[attachment])]))
    )


@pytest.mark.parametrize("via", ["direct", "redirect"])
def test_an_image_link_to_an_internal_address_is_not_fetched(
    client, fb_page, platform, run_tasks, internal_service, via
):
    internal_url = f"{internal_service.url}/admin"
    if via == "redirect":  # the platform's (admitted) media host redirects inside
        platform.files["/cdn/photo.png"] = Answer(302, b"", {"Location": internal_url})
        _image_message(client, f"{platform.url}/cdn/photo.png")
    else:
        _image_message(client, internal_url)
    run_tasks()
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.body_text == "Look"
    refused = message.attachments.get()
    assert not refused.kept
    assert refused.not_kept_reason.startswith("the platform's media link could not be fetched")
    assert "127.0.0.1" not in refused.not_kept_reason
    assert internal_service.requests == []
