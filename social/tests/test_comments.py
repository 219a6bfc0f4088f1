"""Comments and mentions on our posts (Graph webhook ``changes`` deliveries) reach the
agents as public-comment conversations, answered in public under the comment or
privately (Meta's private replies), through the loopback Graph API server."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from social.models import (
    ConversationKind,
    EventOutcome,
    InboundEvent,
    PublicComment,
    SocialContact,
    SocialConversation,
)
from social.tests.conftest import (
    IG_ID,
    PAGE_ID,
    meta_delivery,
    post_meta,
    text_event,
)
from social.tests.platform_server import Answer, meta_error
from tickets import services as ticket_services
from tickets.choices import DeliveryStatus, Direction
from tickets.models import OutboundMessage, Ticket

pytestmark = pytest.mark.django_db

MEDIA_ID = "17990000000000001"
POST_ID = f"{PAGE_ID}_555000111"


def changes(account_id: str, *items: dict[str, Any], obj: str) -> dict[str, Any]:
    """A Graph API webhook delivery with ``entry[].changes[]``."""
    return {
        "object": obj,
        "entry": [{"id": account_id, "time": int(time.time()), "changes": list(items)}],
    }


def ig_comment(
    comment_id: str, text: str, *, user: str = "igsid-41", media: str = MEDIA_ID
) -> dict[str, Any]:
    """Instagram's ``comments`` field, as documented."""
    return {
        "field": "comments",
        "value": {
            "id": comment_id,
            "from": {"id": user, "username": "ada.k"},
            "text": text,
            "media": {"id": media, "media_product_type": "FEED"},
        },
    }


def fb_comment(
    comment_id: str, text: str, *, verb: str = "add", user: str = "fbuser-9"
) -> dict[str, Any]:
    """A Page ``feed`` change for a comment, as documented."""
    return {
        "field": "feed",
        "value": {
            "from": {"id": user, "name": "Emeka Obi"},
            "post": {"status_type": "added_photos", "is_published": True, "id": POST_ID},
            "message": text,
            "post_id": POST_ID,
            "comment_id": f"555000111_{comment_id}",
            "created_time": int(time.time()),
            "item": "comment",
            "parent_id": POST_ID,
            "verb": verb,
        },
    }


def agent_client() -> Client:
    agent = Client()
    agent.force_login(AgentFactory())
    return agent


def console_reply(ticket: Ticket, run_tasks, *, visibility: str, body: str = "We have DMed you."):
    agent = agent_client()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = agent.post(
            f"/console/tickets/{ticket.pk}/reply",
            {"body": body, "visibility": visibility, "status": "pending"},
        )
    run_tasks()
    return response


def test_an_instagram_comment_reaches_the_agents_inbox(client, instagram, platform, run_tasks):
    response = post_meta(
        client, changes(IG_ID, ig_comment("c-1", "My X12 screen cracked, help?"), obj="instagram")
    )
    assert response.json()["received"] == 1
    run_tasks()

    ticket = Ticket.objects.get()
    assert ticket.subject == "Public comment on Instagram: My X12 screen cracked, help?"
    message = ticket.messages.get()
    assert message.direction == Direction.INBOUND and message.author_name == "ada.k"
    assert message.body_text == "My X12 screen cracked, help?"
    comment = PublicComment.objects.get()
    assert (comment.comment_id, comment.post_id) == ("c-1", MEDIA_ID)
    assert SocialConversation.objects.get().kind == ConversationKind.COMMENTS
    assert InboundEvent.objects.get().outcome == EventOutcome.STORED
    # Nothing is posted under the comment by itself (no category question, no rating).
    assert not OutboundMessage.objects.exists()
    assert not platform.sent("/replies") and not platform.sent("/messages")
    # A comment does not open the direct-messaging window.
    assert SocialContact.objects.get().last_inbound_at is None

    agent = agent_client()
    assert ticket.subject in agent.get("/console/").content.decode()
    page = agent.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Public Instagram comments" in page
    assert 'value="public"' in page and 'value="private"' in page


def test_redelivery_is_stored_once_and_a_person_has_a_thread_per_post(
    client, instagram, platform, run_tasks
):
    first = changes(IG_ID, ig_comment("c-1", "Is this in stock?"), obj="instagram")
    post_meta(client, first)
    post_meta(client, first)  # Meta retries
    post_meta(client, changes(IG_ID, ig_comment("c-2", "In blue?"), obj="instagram"))
    post_meta(
        client,
        changes(IG_ID, ig_comment("c-3", "And this one?", media="1799-other"), obj="instagram"),
    )
    run_tasks()
    assert PublicComment.objects.count() == 3
    tickets = list(Ticket.objects.order_by("pk"))
    assert len(tickets) == 2
    assert [m.body_text for m in tickets[0].messages.order_by("pk")] == [
        "Is this in stock?",
        "In blue?",
    ]


def test_a_direct_message_from_a_commenter_is_its_own_conversation(
    client, instagram, platform, run_tasks
):
    post_meta(client, changes(IG_ID, ig_comment("c-1", "Help please"), obj="instagram"))
    post_meta(
        client,
        meta_delivery((IG_ID, [text_event("igsid-41", "My order is 1234")]), obj="instagram"),
    )
    run_tasks()
    kinds = sorted(SocialConversation.objects.values_list("kind", flat=True))
    assert kinds == [ConversationKind.COMMENTS, ConversationKind.MESSAGES]
    assert SocialContact.objects.get().last_inbound_at is not None  # the DM opened it


def test_a_public_reply_goes_under_the_instagram_comment(client, instagram, platform, run_tasks):
    post_meta(client, changes(IG_ID, ig_comment("c-1", "Screen cracked"), obj="instagram"))
    run_tasks()
    ticket = Ticket.objects.get()
    response = console_reply(ticket, run_tasks, visibility="public", body="Sorry! Check your DMs.")
    assert response.status_code == 302
    [sent] = platform.sent("/replies")
    assert sent.path.endswith("/c-1/replies")
    assert sent.body == {"message": "Sorry! Check your DMs."}
    # ("Screen cracked" is filed under Returns, whose order-number request stays on the
    # ticket: automatic messages are not posted under public comments.)
    reply = OutboundMessage.objects.get(message__body_text="Sorry! Check your DMs.")
    assert reply.status == DeliveryStatus.SENT


def test_a_facebook_feed_comment_public_and_private_replies(client, fb_page, platform, run_tasks):
    post_meta(client, changes(PAGE_ID, fb_comment("777", "Refund still not here"), obj="page"))
    run_tasks()
    ticket = Ticket.objects.get()
    assert ticket.subject.startswith("Public comment on Facebook Messenger: Refund")
    assert ticket.channel == "facebook"

    console_reply(ticket, run_tasks, visibility="public", body="We are on it.")
    [public] = platform.sent("/comments")
    assert public.path.endswith("/555000111_777/comments")
    assert public.body == {"message": "We are on it."}

    console_reply(ticket, run_tasks, visibility="private", body="Your refund reference is R-1.")
    [private] = platform.sent(f"/{PAGE_ID}/messages")
    assert private.body == {
        "recipient": {"comment_id": "555000111_777"},
        "message": {"text": "Your refund reference is R-1."},
    }
    assert PublicComment.objects.get().private_reply_at is not None
    # The agent's replies; the automatic order-number request triage queued for this
    # refund question is not posted under the comment (see the last test).
    agents = OutboundMessage.objects.filter(message__author__isnull=False)
    assert list(agents.values_list("status", flat=True)) == [DeliveryStatus.SENT] * 2

    # Meta accepts one private reply per comment: the second is refused in the form.
    response = console_reply(ticket, run_tasks, visibility="private", body="Again?")
    assert response.status_code == 400
    assert "already been answered privately" in response.content.decode()
    assert len(platform.sent(f"/{PAGE_ID}/messages")) == 1


def test_a_private_reply_after_seven_days_is_refused(client, fb_page, platform, run_tasks):
    post_meta(client, changes(PAGE_ID, fb_comment("778", "Hello?"), obj="page"))
    run_tasks()
    PublicComment.objects.update(commented_at=timezone.now() - dt.timedelta(days=8))
    response = console_reply(Ticket.objects.get(), run_tasks, visibility="private")
    assert response.status_code == 400
    assert "within 7 days of the comment" in response.content.decode()
    assert not platform.sent("/messages")


def test_a_failed_public_reply_is_visible_to_the_agent(client, fb_page, platform, run_tasks):
    post_meta(client, changes(PAGE_ID, fb_comment("779", "Hello?"), obj="page"))
    run_tasks()
    platform.queue("/v", meta_error(100, "Object does not exist", subcode=33))
    console_reply(Ticket.objects.get(), run_tasks, visibility="public")
    outbound = OutboundMessage.objects.get(message__author__isnull=False)
    assert outbound.status == DeliveryStatus.FAILED
    assert "Object does not exist (code 100, subcode 33)" in outbound.last_error


def test_edits_our_own_comments_and_likes_are_recorded_not_ticketed(
    client, fb_page, platform, run_tasks
):
    like = {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": POST_ID}}
    post_meta(
        client,
        changes(
            PAGE_ID,
            fb_comment("780", "edited text", verb="edited"),
            fb_comment("781", "Thanks for asking!", user=PAGE_ID),
            like,
            obj="page",
        ),
    )
    run_tasks()
    assert not Ticket.objects.exists()
    reasons = sorted(InboundEvent.objects.values_list("reason", flat=True))
    assert reasons == [
        "echo of a message we sent",
        "not an event this channel handles",
        "not an event this channel handles",
    ]
    assert set(InboundEvent.objects.values_list("outcome", flat=True)) == {EventOutcome.IGNORED}


def _mention(comment_id: str = "c-90") -> dict[str, Any]:
    return {"field": "mentions", "value": {"comment_id": comment_id, "media_id": "1800-theirs"}}


def test_an_instagram_mention_is_read_and_answered_in_public(
    client, instagram, platform, run_tasks
):
    found = {
        "mentioned_comment": {
            "text": "@izonie my order never came",
            "username": "chioma.n",
            "timestamp": "2026-12-06T10:00:00+0000",
            "id": "c-90",
        },
        "id": IG_ID,
    }
    platform.queue("/v", Answer(200, json.dumps(found).encode()))
    post_meta(client, changes(IG_ID, _mention(), obj="instagram"))
    run_tasks()
    [lookup] = [r for r in platform.requests if r.method == "GET"]
    assert lookup.path.endswith(f"/{IG_ID}")
    assert lookup.query["fields"] == ["mentioned_comment.comment_id(c-90){text,username,timestamp}"]
    ticket = Ticket.objects.get()
    assert ticket.subject == "Public mention on Instagram: @izonie my order never came"
    # (Filed under Order Status, the ticket also holds the order-number request.)
    assert ticket.messages.filter(direction=Direction.INBOUND).get().author_name == "chioma.n"

    response = console_reply(ticket, run_tasks, visibility="private")
    assert "A mention can only be answered in public" in response.content.decode()
    console_reply(ticket, run_tasks, visibility="public", body="Sorry! DM us your order.")
    [sent] = platform.sent("/mentions")
    assert sent.path.endswith(f"/{IG_ID}/mentions")
    assert sent.body == {
        "media_id": "1800-theirs",
        "message": "Sorry! DM us your order.",
        "comment_id": "c-90",
    }


def test_a_mention_the_api_will_not_show_still_reaches_the_agents(
    client, instagram, platform, run_tasks
):
    post_meta(client, changes(IG_ID, _mention("c-91"), obj="instagram"))  # GET answers error
    run_tasks()
    body = Ticket.objects.get().messages.get().body_text
    assert "its text could not be read through the API" in body


def test_automatic_messages_are_never_posted_under_a_comment(
    client, instagram, platform, run_tasks
):
    post_meta(client, changes(IG_ID, ig_comment("c-1", "Hello"), obj="instagram"))
    run_tasks()
    ticket = Ticket.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        ticket_services.ticket_system_reply(ticket=ticket, body="Your request was escalated.")
    run_tasks()
    outbound = OutboundMessage.objects.get()
    assert outbound.status == DeliveryStatus.FAILED
    assert "not posted under public comments" in outbound.last_error
    assert not platform.sent("/replies") and not platform.sent("/messages")


def test_a_comment_photo_not_downloaded_keeps_its_link_and_a_retry(
    client, fb_page, platform, run_tasks
):
    platform.files["/cdn/comment.png"] = Answer(503, b"busy")
    photo = fb_comment("782", "Look at this crack")
    photo["value"]["photo"] = f"{platform.url}/cdn/comment.png"
    post_meta(client, changes(PAGE_ID, photo, obj="page"))
    run_tasks()
    ticket = Ticket.objects.get()
    attachment = ticket.messages.get().attachments.get()
    assert not attachment.kept and "HTTP 503" in attachment.not_kept_reason
    page = agent_client().get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert f'<a href="{platform.url}/cdn/comment.png"' in page
    assert "Retry download" in page


def test_the_demo_has_a_public_instagram_comment():
    from core.demo import seed_demo

    seed_demo()
    conversation = SocialConversation.objects.get(kind=ConversationKind.COMMENTS)
    page = agent_client().get(f"/console/tickets/{conversation.ticket_id}/").content.decode()
    assert "Public Instagram comments" in page and "come in blue?" in page
    assert 'value="private"' in page
