"""Same rules as every channel: an uncategorised conversation is asked its category once
with quick replies; the rating question goes out with quick replies 1–5, and the answer
is recorded."""

from __future__ import annotations

import pytest
from django.test import TestCase

from accounts.tests.factories import AgentFactory
from core.errors import UserError
from feedback.models import Rating
from policy.loader import get_policy
from social import services
from social.models import EventOutcome, InboundEvent, QuickReplyOffer
from social.tests.conftest import (
    PAGE_ID,
    meta_delivery,
    post_meta,
    post_tiktok,
    text_event,
    tiktok_message,
)
from tickets.choices import EventKind, TicketStatus
from tickets.models import Ticket
from tickets.services import ticket_update

pytestmark = pytest.mark.django_db


def quick_reply(sender: str, title: str, payload: str) -> dict:
    return text_event(sender, title, quick_reply={"payload": payload})


def test_an_uncategorised_conversation_is_asked_once_with_the_policys_categories(
    client, fb_page, platform, run_tasks
):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hello")])))
    run_tasks()
    ticket = Ticket.objects.get()
    assert ticket.category == ""
    question = platform.sent("/messages")[0].body
    policy = get_policy()
    assert [q["payload"] for q in question["message"]["quick_replies"]] == [
        f"CATEGORY:{c.key}" for c in policy.categories
    ]
    assert question["message"]["quick_replies"][0]["title"] == policy.categories[0].name
    # A second message before answering does not ask again.
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hello?")])))
    run_tasks()
    assert len(platform.sent("/messages")) == 1


def test_the_quick_reply_files_the_ticket_under_that_category(client, fb_page, platform, run_tasks):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hello")])))
    run_tasks()
    post_meta(
        client, meta_delivery((PAGE_ID, [quick_reply("psid-1", "Payments", "CATEGORY:payments")]))
    )
    run_tasks()
    ticket = Ticket.objects.get()
    assert ticket.category == "payments"
    assert ticket.team == get_policy().category("payments").team
    assert ticket.messages.filter(body_text="Payments").exists()  # the answer shows on the thread


def test_on_tiktok_a_typed_number_answers_the_category_question(
    client, tiktok, platform, run_tasks
):
    post_tiktok(client, tiktok_message("tt-1", "Hello"))
    run_tasks()
    question = platform.sent("/business/message/send/")[0].body["text"]["body"]
    assert "2. Payments" in question
    post_tiktok(client, tiktok_message("tt-1", "2"))
    run_tasks()
    assert Ticket.objects.get().category == get_policy().categories[1].key


def test_the_rating_question_goes_out_with_quick_replies(client, fb_page, platform, run_tasks):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hello")])))
    run_tasks()
    ticket = Ticket.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        message = services.social_ask_rating(ticket)
    run_tasks()
    assert message is not None
    assert QuickReplyOffer.objects.get(message=message).options[0] == {
        "title": "1",
        "payload": "RATING:1",
    }
    sent = platform.sent("/messages")[-1].body["message"]
    assert sent["text"].startswith(get_policy().feedback.question)
    assert [q["title"] for q in sent["quick_replies"]] == ["1", "2", "3", "4", "5"]


def test_a_rating_quick_reply_is_recorded_even_after_the_ticket_closed(
    client, fb_page, platform, run_tasks
):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hello")])))
    run_tasks()
    ticket = Ticket.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.social_ask_rating(ticket)
    Ticket.objects.update(status=TicketStatus.CLOSED)
    post_meta(client, meta_delivery((PAGE_ID, [quick_reply("psid-1", "4", "RATING:4")])))
    run_tasks()
    rated = ticket.events.get(kind=EventKind.RATED)
    assert (rated.data["channel"], rated.data["score"]) == ("facebook", 4)
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.channel, rating.score) == ("facebook", 4)
    assert Ticket.objects.count() == 1  # the answer opened no new conversation
    # Tapping again is not a second rating.
    post_meta(client, meta_delivery((PAGE_ID, [quick_reply("psid-1", "5", "RATING:5")])))
    run_tasks()
    assert ticket.events.filter(kind=EventKind.RATED).count() == 1
    assert InboundEvent.objects.filter(
        outcome=EventOutcome.IGNORED, reason__contains="already"
    ).exists()


def test_solving_a_social_conversation_asks_for_a_rating_with_quick_replies(
    client, fb_page, platform, run_tasks
):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Where is my parcel?")])))
    run_tasks()
    ticket = Ticket.objects.get()
    agent = AgentFactory()
    with TestCase.captureOnCommitCallbacks(execute=True):
        ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)
    run_tasks()
    sent = platform.sent("/messages")[-1].body["message"]
    assert sent["text"].startswith(get_policy().feedback.question)
    assert [q["payload"] for q in sent["quick_replies"]][-1] == "RATING:5"
    post_meta(client, meta_delivery((PAGE_ID, [quick_reply("psid-1", "5", "RATING:5")])))
    run_tasks()
    assert Rating.objects.get(ticket=ticket).score == 5


def test_a_rating_outside_the_scale_is_refused(client, fb_page, platform, run_tasks):
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hello")])))
    run_tasks()
    with pytest.raises(UserError, match="from 1 to 5"):
        services.social_rating_received(ticket=Ticket.objects.get(), score=9)


def test_asking_a_rating_on_a_ticket_from_another_channel_does_nothing(db):
    from tickets.tests.factories import TicketFactory

    assert services.social_ask_rating(TicketFactory()) is None


def test_escalation_phrase_in_a_dm_escalates(client, fb_page, platform, run_tasks):
    post_meta(
        client,
        meta_delivery(
            (PAGE_ID, [text_event("psid-1", "My refund failed. Escalate to a supervisor please")])
        ),
    )
    run_tasks()
    assert Ticket.objects.get().events.filter(kind=EventKind.ESCALATED).exists()
