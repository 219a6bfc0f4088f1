"""The agent sees the channel and the messaging-window state on a social conversation,
in Chromium, at desktop and phone width."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import AgentFactory
from conftest import screenshot_path
from social.models import Platform, SocialAccount, SocialContact, SocialConversation
from tickets import services
from tickets.choices import Channel, Direction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def social_ticket(*, hours_since_customer: float, email: str = ""):
    account = SocialAccount.objects.create(
        platform=Platform.FACEBOOK, external_id="1048", name="Izonie", access_token="t"
    )
    from social.services import _customer_for

    user = _customer_for(account=account, sender_id="psid-9", name="Ada Obi")
    user.email = email
    user.save()
    contact = SocialContact.objects.create(
        account=account,
        sender_id="psid-9",
        user=user,
        name="Ada Obi",
        last_inbound_at=timezone.now() - dt.timedelta(hours=hours_since_customer),
    )
    ticket = services.ticket_open(
        requester=user, channel=Channel.FACEBOOK, body="Where is my order IZ-00000000?"
    )
    SocialConversation.objects.create(ticket=ticket, contact=contact)
    return ticket


@pytest.mark.parametrize("width", [1280, 390])
def test_the_agent_sees_an_open_window(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    ticket = social_ticket(hours_since_customer=2)
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    panel = page.get_by_role("region", name="Facebook Messenger conversation")
    assert panel.is_visible()
    assert "With Ada Obi on Izonie" in panel.inner_text()
    assert "Reply window open until" in panel.inner_text()
    assert "WAT" in panel.inner_text()  # times carry their zone
    page.screenshot(path=screenshot_path(f"social-window-{width}"), full_page=True)


def test_the_agent_is_told_the_window_closed_and_offered_email(page, login, live_server):
    ticket = social_ticket(hours_since_customer=24 * 8, email="ada@example.com")
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    panel = page.get_by_role("region", name="Facebook Messenger conversation")
    assert "Reply window closed" in panel.inner_text()
    assert "Reply by email instead: ada@example.com" in panel.inner_text()


def test_after_24_hours_the_agent_sees_the_human_agent_window(page, login, live_server):
    ticket = social_ticket(hours_since_customer=30)
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    panel = page.get_by_role("region", name="Facebook Messenger conversation")
    assert "human agent" in panel.inner_text()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_agent_answers_a_public_comment_privately(page, login, live_server, platform, width):
    from conftest import run_queued_tasks
    from social.models import ConversationKind, PublicComment

    page.set_viewport_size({"width": width, "height": 900})
    account = SocialAccount.objects.create(
        platform=Platform.INSTAGRAM, external_id="1784", name="@izonie", access_token="t"
    )
    from social.services import _customer_for

    user = _customer_for(account=account, sender_id="igsid-5", name="ada.k")
    contact = SocialContact.objects.create(
        account=account, sender_id="igsid-5", user=user, name="ada.k"
    )
    ticket = services.ticket_open(
        requester=user,
        channel=Channel.INSTAGRAM,
        body="My screen cracked after a week",
        subject="Public comment on Instagram: My screen cracked after a week",
    )
    conversation = SocialConversation.objects.create(
        ticket=ticket, contact=contact, kind=ConversationKind.COMMENTS, post_id="media-1"
    )
    PublicComment.objects.create(
        conversation=conversation,
        message=ticket.messages.filter(direction=Direction.INBOUND).get(),
        comment_id="c-77",
        post_id="media-1",
        commented_at=timezone.now(),
    )
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    panel = page.get_by_role("region", name="Public Instagram comments")
    assert "By ada.k on @izonie" in panel.inner_text()
    page.get_by_label("Private reply (a direct message to the commenter)").check()
    page.get_by_label("Reply to the customer").fill("Sorry! Please send us your order number.")
    page.screenshot(path=screenshot_path(f"social-comment-reply-{width}"), full_page=True)
    page.get_by_role("button", name="Send reply", exact=True).click()
    expect(page.get_by_text("Reply queued for delivery.")).to_be_visible()

    run_queued_tasks()
    [sent] = platform.sent("/1784/messages")
    assert sent.body == {
        "recipient": {"comment_id": "c-77"},
        "message": {"text": "Sorry! Please send us your order number."},
    }
