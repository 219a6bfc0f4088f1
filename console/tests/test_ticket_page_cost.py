"""What the ticket page costs: each row it shows is read once, and its statements do not
grow with the conversation or the panels beside it. The page still shows every panel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from conduct.models import ConductBlock, ConductFlag, Severity
from core.templatetags.izonie import team_name
from disputes import services as dispute_services
from disputes.tests.conftest import make_case
from feedback.services import feedback_record
from mail.models import InboundEmail
from policy.loader import get_policy
from social.models import (
    ConversationKind,
    Platform,
    PublicComment,
    SocialAccount,
    SocialContact,
    SocialConversation,
    SocialMediaLink,
)
from tickets import services
from tickets.choices import Channel, Direction, EventKind
from tickets.models import Attachment, TicketEvent
from tickets.tests.factories import TicketFactory
from triage.models import ClassifierStatus, ClassifierVersion, PredictionSource, TicketTriage

pytestmark = pytest.mark.django_db


def _page(client, ticket) -> tuple[str, list[str]]:
    """The page as an agent sees it the second time, and the statements it ran."""
    url = reverse("console:ticket", args=[ticket.pk])
    client.get(url)  # the first visit also records that the agent saw the ticket
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def _reads(statements: list[str], table: str) -> int:
    """Statements that read ``table`` (as another's subquery, aliased U0…, is not one)."""
    read = re.compile(rf'FROM "{table}"(?! U\d)')
    return sum(1 for sql in statements if read.search(sql))


def _comment_ticket():
    account = SocialAccount.objects.create(
        platform=Platform.INSTAGRAM, external_id="1790", name="Izonie", access_token="t"
    )
    buyer = BuyerFactory()
    contact = SocialContact.objects.create(
        account=account, sender_id="igsid-41", user=buyer, name="Ada K"
    )
    ticket = services.ticket_open(
        requester=buyer, channel=Channel.INSTAGRAM, body="Does it come in blue?"
    )
    conversation = SocialConversation.objects.create(
        ticket=ticket, contact=contact, kind=ConversationKind.COMMENTS, post_id="media-7"
    )
    PublicComment.objects.create(
        conversation=conversation,
        message=ticket.messages.get(),
        comment_id="c-1",
        commented_at=timezone.now(),
    )
    return ticket


def test_the_social_conversation_is_read_with_the_ticket_for_its_panel_and_the_reply_form(
    client,
):
    client.force_login(AgentFactory())
    page, statements = _page(client, _comment_ticket())
    assert "Public Instagram comments" in page and "By <strong>Ada K</strong>" in page
    assert 'value="private"' in page  # the reply form offers the private reply
    assert _reads(statements, "social_socialconversation") == 0
    assert _reads(statements, "social_socialcontact") == 0


def test_the_thread_is_read_once_for_the_page_s_newest_message_and_the_sender_check(client):
    agent = AgentFactory()
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="Where is my parcel?"
    )
    InboundEmail.objects.create(
        raw=b"",
        ticket=ticket,
        message=ticket.messages.get(direction=Direction.INBOUND),
        sender_verified=False,
        authentication={"summary": "DMARC failed"},
    )
    reply = services.ticket_reply(ticket=ticket, author=agent, body="On its way.")
    client.force_login(agent)
    page, statements = _page(client, ticket)
    assert f'data-seen="{reply.pk}"' in page  # the newest message, the agent's reply
    assert "The email that opened this ticket did not prove it" in page
    assert 'title="DMARC failed">Email not verified' in page
    assert _reads(statements, "tickets_message") == 1


def test_the_triage_note_is_read_with_the_ticket_and_so_are_the_other_one_to_one_rows(client):
    category = get_policy().categories[0]
    ticket = TicketFactory()
    classifier = ClassifierVersion.objects.create(
        version=3,
        status=ClassifierStatus.ACTIVE,
        train_size=100,
        holdout_size=20,
        holdout_accuracy=0.8,
        holdout_macro_f1=0.7,
    )
    TicketTriage.objects.create(
        ticket=ticket,
        predicted_category=category.key,
        confidence=0.42,
        source=PredictionSource.RULES_AND_MODEL,
        classifier=classifier,
    )
    client.force_login(AgentFactory())
    page, statements = _page(client, ticket)
    assert f"Triage: guessed {category.name} (42%, classifier v3), too unsure to apply" in page
    assert _reads(statements, "triage_tickettriage") == 0
    assert _reads(statements, "triage_classifierversion") == 0
    # Nor is there a separate look for a social conversation or a dispute.
    assert _reads(statements, "social_socialconversation") == 0
    assert _reads(statements, "disputes_dispute") == 0


def _flag(ticket, *, channel: str, dismissed_by=None) -> ConductFlag:
    message = services.ticket_customer_message(
        ticket=ticket, author=ticket.requester, body="Where is it?", screened=[]
    )
    return ConductFlag.objects.create(
        message=message,
        ticket=ticket,
        customer=ticket.requester,
        channel=channel,
        severity=Severity.MEDIUM,
        findings=[{"label": "insult", "score": 0.91}],
        dismissed_at=timezone.now() if dismissed_by else None,
        dismissed_by=dismissed_by,
    )


def test_conduct_is_read_once_for_its_panel_and_the_requester_card(client):
    agent = AgentFactory(display_name="Bola Ade")
    buyer = BuyerFactory()
    ticket = services.ticket_open(requester=buyer, channel=Channel.EMAIL, body="Hello")
    _flag(ticket, channel=Channel.LIVE_CHAT)
    later = timezone.now() + dt.timedelta(hours=5)
    for channel in (Channel.EMAIL, Channel.LIVE_CHAT):
        ConductBlock.objects.create(customer=buyer, channel=channel, violations=3, ends_at=later)
    ConductBlock.objects.create(
        customer=buyer, channel=Channel.FACEBOOK, violations=3, ends_at=later, lifted_at=later
    )
    client.force_login(agent)
    page, statements = _page(client, ticket)
    assert "1 message flagged in this conversation." in page
    assert "New email sessions blocked until" in page
    assert "New live_chat sessions blocked until" in page
    card = page[page.index('class="requester-card"') :]
    assert "Blocked on email until" in card and "Blocked on live_chat until" in card
    assert "facebook" not in card  # lifted
    assert _reads(statements, "conduct_conductblock") == 1

    # More flagged messages, dismissed and on another channel: the same statements.
    _flag(ticket, channel=Channel.FACEBOOK, dismissed_by=agent)
    _flag(ticket, channel=Channel.TIKTOK, dismissed_by=AgentFactory())
    page, more = _page(client, ticket)
    assert "3 messages flagged in this conversation." in page
    assert "dismissed by Bola Ade as not abusive" in page
    assert len(more) == len(statements)


def test_the_order_is_read_once_for_its_panel_and_the_dispute_suggestion(client):
    case = make_case()
    client.force_login(case.agent)
    page, statements = _page(client, case.ticket)
    assert f"<h3>Order {case.order.number}</h3>" in page
    assert "Suggested:" in page and "sold by GadgetHub, a third-party seller" in page
    # The ticket's order (its panel, the suggestion) and the requester card's recent ones.
    assert _reads(statements, "marketplace_order") == 2


def test_the_dispute_is_read_with_the_ticket(client):
    case = make_case()
    dispute = dispute_services.dispute_open(ticket=case.ticket, actor=case.agent)
    client.force_login(case.agent)
    page, statements = _page(client, case.ticket)
    assert f"Dispute {dispute.reference}" in page and "with <strong>GadgetHub</strong>" in page
    assert _reads(statements, "disputes_dispute") == 0


def test_ratings_are_read_once_for_the_ticket_s_panel_and_the_requester_card(client):
    buyer = BuyerFactory()
    ticket = TicketFactory(requester=buyer, status="resolved")
    feedback_record(ticket=ticket, channel="email", score=2, comment="Too slow")
    earlier = TicketFactory(requester=buyer, status="resolved")
    feedback_record(ticket=earlier, channel="email", score=5, comment="Quick, thanks")
    client.force_login(AgentFactory())
    page, statements = _page(client, ticket)
    panel = page[page.index('id="ratings-heading"') :]
    assert "2 / 5</strong> · email" in panel and "“Too slow”" in panel
    assert "Quick, thanks" not in panel  # another ticket's
    card = page[page.index('class="requester-card"') : page.index("<h3>Conduct</h3>")]
    assert "Average 3.5 of 5 over 2 ratings" in card
    assert card.index("Quick, thanks") < card.index("Too slow")  # newest first
    assert _reads(statements, "feedback_rating") == 1

    # Three newer ratings elsewhere: the card lists those, the panel still the ticket's.
    for comment in ("First", "Second", "Third"):
        feedback_record(
            ticket=TicketFactory(requester=buyer, status="resolved"),
            channel="email",
            score=4,
            comment=comment,
        )
    page, statements = _page(client, ticket)
    panel = page[page.index('id="ratings-heading"') :]
    assert "“Too slow”" in panel
    card = page[page.index('class="requester-card"') : page.index("<h3>Conduct</h3>")]
    assert "Average 3.8 of 5 over 5 ratings" in card
    # The comments as the card quotes them: Faker's English subjects of the other
    # tickets in the same card may hold the bare words ("First ...").
    assert card.index("“Third”") < card.index("“Second”") < card.index("“First”")
    assert "Too slow" not in card and "Quick, thanks" not in card
    # The rows shown, and the average over all of them.
    assert _reads(statements, "feedback_rating") == 2


def _photo(ticket, name: str, *, kept: bool = True) -> Attachment:
    message = services.ticket_customer_message(
        ticket=ticket, author=ticket.requester, body=f"See {name}", screened=[]
    )
    return Attachment.objects.create(
        message=message,
        filename=name,
        content_type="image/jpeg",
        size=2048,
        kept=kept,
        not_kept_reason="" if kept else "HTTP 503",
    )


def test_the_thread_costs_the_same_statements_whatever_its_length_and_files(client):
    agent = AgentFactory()
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.FACEBOOK, body="My screen is cracked"
    )
    client.force_login(agent)
    page, statements = _page(client, ticket)
    assert "My screen is cracked" in page
    assert _reads(statements, "tickets_attachment") == 0  # no message has files

    _photo(ticket, "front.jpg")
    not_kept = _photo(ticket, "back.jpg", kept=False)
    SocialMediaLink.objects.create(
        attachment=not_kept,
        account=SocialAccount.objects.create(
            platform=Platform.FACEBOOK, external_id="1048", name="Izonie", access_token="t"
        ),
        url="https://example.invalid/back.jpg",
    )
    services.ticket_reply(ticket=ticket, author=agent, body="Sorry to hear it.")
    services.ticket_add_note(ticket=ticket, author=agent, body="Check the warranty.")
    page, with_files = _page(client, ticket)
    assert 'alt="Photo front.jpg from' in page
    assert "back.jpg (not kept: HTTP 503)" in page and "Retry download" in page
    assert "Sorry to hear it." in page and "Check the warranty." in page
    assert _reads(with_files, "tickets_attachment") == 1
    assert _reads(with_files, "social_socialmedialink") == 0
    assert len(with_files) == len(statements) + 1

    for name in ("left.jpg", "right.jpg", "box.jpg"):
        _photo(ticket, name)
    _photo(ticket, "label.jpg", kept=False)
    page, longer = _page(client, ticket)
    assert 'alt="Photo box.jpg from' in page
    assert len(longer) == len(with_files)


def test_the_history_does_not_read_the_ticket_again(client):
    agent = AgentFactory(display_name="Bola Ade")
    ticket = TicketFactory(team="customer_care")
    services.ticket_update(ticket=ticket, actor=agent, assignee=agent)
    TicketEvent.objects.create(
        ticket=ticket,
        kind=EventKind.ASSIGNED,
        data={"old": agent.pk, "new": None, "reason": "shift_ended"},
    )
    client.force_login(agent)
    page, statements = _page(client, ticket)
    history = page[page.index('id="history-heading"') :]
    assert "Assigned to Bola Ade by Bola Ade" in history
    queue = f"back in the {team_name('customer_care')} queue"
    assert f"Unassigned from Bola Ade (agent ended the shift); {queue}" in history
    [events] = [sql for sql in statements if 'FROM "tickets_ticketevent"' in sql]
    assert '"tickets_ticket"' not in events
