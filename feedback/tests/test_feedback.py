"""Ratings: one entry point, one rating per interaction, the change window, the rating
email with signed one-click links and its bad inputs, the low-score follow-up."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail as django_mail
from django.core import signing
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from feedback import tokens
from feedback.exceptions import InvalidRating, RatingLocked
from feedback.models import Rating, RatingRequest
from feedback.requests import register_rating_request
from feedback.services import feedback_record
from notifications.models import Notification
from policy.loader import get_policy
from tickets import services as tickets
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def solved_ticket(channel=Channel.EMAIL, *, django_capture_on_commit_callbacks, run_tasks):
    agent = AgentFactory()
    buyer = BuyerFactory(email="chioma@example.com")
    ticket = tickets.ticket_open(
        requester=buyer, channel=channel, body="App crashes", category="technical_support"
    )
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_reply(ticket=ticket, author=agent, body="Fixed.", status="resolved")
    run_tasks()
    ticket.refresh_from_db()
    return ticket


def rating_links(message) -> dict[int, str]:
    found = re.findall(r"^(\d): (http\S+)$", message.body, flags=re.MULTILINE)
    return {int(score): url.replace("http://127.0.0.1:8000", "") for score, url in found}


def rating_email(ticket: Ticket):
    [message] = [m for m in django_mail.outbox if "How did we do" in m.subject]
    assert ticket.reference in message.subject
    return message


@pytest.fixture
def solved(django_capture_on_commit_callbacks, run_tasks):
    def make(channel=Channel.EMAIL):
        return solved_ticket(
            channel,
            django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
            run_tasks=run_tasks,
        )

    return make


# --- feedback_record


def test_a_rating_links_ticket_agent_channel_and_category_and_is_an_event():
    agent = AgentFactory()
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=Channel.API, body="Hi", category="payments"
    )
    tickets.ticket_update(ticket=ticket, actor=agent, assignee=agent)
    result = feedback_record(ticket=ticket, channel=Channel.API, score=4, comment="Quick")
    rating = result.rating
    assert result.created and result.changed
    assert (rating.agent, rating.channel, rating.category) == (agent, "api", "payments")
    event = ticket.events.get(kind=EventKind.RATED)
    assert event.data["score"] == 4 and event.data["comment"] == "Quick"
    assert event.data["rating_id"] == rating.pk and event.data["agent_id"] == agent.pk


@pytest.mark.parametrize("score", [0, 6, -1, "five", None, True, 4.5, "", "99"])
def test_scores_outside_the_scale_are_refused_and_nothing_recorded(score):
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=Channel.API, body="Hi", category="payments"
    )
    with pytest.raises(InvalidRating) as refused:
        feedback_record(ticket=ticket, channel=Channel.API, score=score)
    assert "1 to 5" in refused.value.message
    assert not Rating.objects.exists()
    assert not ticket.events.filter(kind=EventKind.RATED).exists()


def test_one_rating_per_interaction_changeable_within_the_window():
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=Channel.API, body="Hi", category="payments"
    )
    feedback_record(ticket=ticket, channel="api", score=3, interaction="resolution-1")
    same = feedback_record(ticket=ticket, channel="api", score=3, interaction="resolution-1")
    assert not same.changed  # the same score again records nothing
    feedback_record(ticket=ticket, channel="api", score=5, interaction="resolution-1")
    feedback_record(ticket=ticket, channel="api", score=2, interaction="resolution-2")
    assert Rating.objects.count() == 2
    assert Rating.objects.get(interaction="resolution-1").score == 5
    events = ticket.events.filter(kind=EventKind.RATED).order_by("id")
    assert [(e.data["score"], e.data["previous_score"]) for e in events] == [
        (3, None),
        (5, 3),
        (2, None),
    ]
    window = get_policy().feedback.rating_window.timedelta
    Rating.objects.filter(interaction="resolution-1").update(
        created_at=timezone.now() - window - dt.timedelta(minutes=1)
    )
    with pytest.raises(RatingLocked):
        feedback_record(ticket=ticket, channel="api", score=1, interaction="resolution-1")
    assert Rating.objects.get(interaction="resolution-1").score == 5


def test_a_low_rating_notifies_the_supervisors_once():
    supervisor = SupervisorFactory()
    ticket = tickets.ticket_open(
        requester=BuyerFactory(), channel=Channel.API, body="Hi", category="payments"
    )
    feedback_record(ticket=ticket, channel="api", score=1, comment="Nobody helped")
    feedback_record(ticket=ticket, channel="api", score=2)
    [note] = Notification.objects.filter(recipient=supervisor, kind="low_rating")
    assert ticket.reference in note.text and "Nobody helped" in note.text
    feedback_record(ticket=ticket, channel="api", score=4, interaction="other")
    assert Notification.objects.filter(kind="low_rating").count() == 1


# --- The rating email when a request is solved


def test_solving_an_email_request_sends_one_rating_email_with_five_links(solved):
    ticket = solved()
    message = rating_email(ticket)
    assert message.to == ["chioma@example.com"]
    assert sorted(rating_links(message)) == [1, 2, 3, 4, 5]
    assert 'aria-label="Rate 4 out of 5"' in message.alternatives[0][0]
    request = RatingRequest.objects.get()
    assert request.interaction == "resolution-1" and request.sent_at is not None


def test_a_rolled_back_solve_asks_nothing_and_a_chat_is_asked_in_the_widget(
    solved, django_capture_on_commit_callbacks
):
    solved(Channel.LIVE_CHAT)
    assert not RatingRequest.objects.exists()
    assert not [m for m in django_mail.outbox if "How did we do" in m.subject]


def test_the_registry_lets_a_channel_ask_its_own_way(solved):
    asked: list[int] = []
    register_rating_request(Channel.TIKTOK, lambda ticket: asked.append(ticket.pk))
    try:
        ticket = solved(Channel.TIKTOK)
    finally:
        from feedback import requests

        requests._requesters.pop(Channel.TIKTOK, None)
    assert asked == [ticket.pk]


def test_one_click_records_the_score_then_an_optional_comment(solved):
    ticket = solved()
    links = rating_links(rating_email(ticket))
    client = Client()
    landing = client.get(links[4])
    assert landing.status_code == 200 and not Rating.objects.exists()  # GET records nothing
    recorded = client.post(links[4])
    assert recorded.status_code == 302
    thanks = client.get(recorded["Location"]).content.decode()
    assert "We recorded your rating of <strong>4 out of 5</strong>" in thanks
    client.post(recorded["Location"], {"comment": "Fast and kind"})
    rating = Rating.objects.get()
    assert (rating.score, rating.comment, rating.channel) == (4, "Fast and kind", "email")
    assert ticket.events.filter(kind=EventKind.RATED).count() == 2


def test_a_reused_link_records_nothing_twice_and_another_score_changes_it(solved):
    ticket = solved()
    links = rating_links(rating_email(ticket))
    client = Client()
    client.post(links[2])
    again = client.post(links[2])
    assert "already=1" in again["Location"]
    assert "already recorded" in client.get(again["Location"]).content.decode()
    assert ticket.events.filter(kind=EventKind.RATED).count() == 1
    client.post(links[5])
    assert Rating.objects.get().score == 5
    assert Rating.objects.count() == 1


def test_tampered_links_get_a_clear_page_and_record_nothing(solved):
    ticket = solved()
    links = rating_links(rating_email(ticket))
    token = links[3].split("/")[3]
    payload, _, signature = token.rpartition(":")
    forged = f"{payload}:{signature[:-2]}xx"
    for url in (
        f"/feedback/rate/{forged}/",
        "/feedback/rate/not-a-token/",
        f"/feedback/rate/{tokens.link_token(request_id=999, score=5)}/",
    ):
        response = Client().post(url)
        assert response.status_code == 400
        assert "We could not use this rating link" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_link_cannot_rate_another_ticket(solved):
    first = solved()
    other = solved()
    request = RatingRequest.objects.get(ticket=other)
    Client().post(f"/feedback/rate/{tokens.link_token(request_id=request.pk, score=1)}/")
    assert not Rating.objects.filter(ticket=first).exists()
    # A link signed elsewhere (another salt) for the first ticket's request is refused.
    foreign = signing.dumps({"r": RatingRequest.objects.get(ticket=first).pk, "s": 1})
    assert Client().post(f"/feedback/rate/{foreign}/").status_code == 400
    assert not Rating.objects.filter(ticket=first).exists()


def test_an_expired_link_gets_a_clear_page(solved, monkeypatch):
    ticket = solved()
    links = rating_links(rating_email(ticket))
    later = timezone.now().timestamp() + get_policy().feedback.rating_window.minutes * 60 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = Client().post(links[5])
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_score_outside_the_scale_in_a_signed_link_is_refused(solved):
    solved()
    request = RatingRequest.objects.get()
    response = Client().post(f"/feedback/rate/{tokens.link_token(request_id=request.pk, score=9)}/")
    assert response.status_code == 400 and "1 to 5" in response.content.decode()
    assert not Rating.objects.exists()


def test_reopened_and_solved_again_is_a_new_interaction(solved, django_capture_on_commit_callbacks):
    ticket = solved()
    agent = ticket.assignee
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
        tickets.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)
    assert list(RatingRequest.objects.values_list("interaction", flat=True).order_by("id")) == [
        "resolution-1",
        "resolution-2",
    ]


# --- Live chat rates through the same entry point


def test_a_chat_rating_is_a_rating_of_that_chat_and_can_be_changed():
    from chat.models import ChatSession, SessionState
    from chat.services import InvalidFrame, chat_rate

    buyer = BuyerFactory()
    ticket = tickets.ticket_open(
        requester=buyer, channel=Channel.LIVE_CHAT, body="Hi", category="order_status"
    )
    session = ChatSession.objects.create(
        ticket=ticket,
        customer=buyer,
        state=SessionState.ENDED,
        queued_at=timezone.now(),
        ended_at=timezone.now(),
    )
    chat_rate(session=session, score=2, comment="Slow")
    chat_rate(session=session, score=4)
    rating = Rating.objects.get()
    assert rating.interaction == f"chat:{session.public_id}" and rating.channel == "live_chat"
    assert (rating.score, rating.comment) == (4, "Slow")
    session.refresh_from_db()
    assert (session.rating, session.rating_comment) == (4, "Slow")
    with pytest.raises(InvalidFrame):
        chat_rate(session=session, score=7)
    assert ticket.events.filter(kind=EventKind.RATED).count() == 2


# --- The REST API


def test_the_api_rates_the_callers_own_solved_request_only(solved):
    from accounts.models import ApiToken

    ticket = solved(Channel.API)
    owner = ticket.requester
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.objects.create(user=owner, name='a').key}"}
    url = f"/api/v1/tickets/{ticket.pk}/rating"

    def post(payload, **extra):
        return Client().post(url, payload, content_type="application/json", **(extra or headers))

    first = post({"score": 5, "comment": "Great"})
    assert first.status_code == 200, first.content
    assert first.json() == {
        "ticket_id": ticket.pk,
        "interaction": "resolution-1",
        "score": 5,
        "comment": "Great",
        "created": True,
        "changed": True,
    }
    assert post({"score": 5}).json()["changed"] is False
    bad = post({"score": 9})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_rating"
    stranger = BuyerFactory()
    key = ApiToken.objects.create(user=stranger, name="b").key
    assert post({"score": 1}, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 404
    assert Rating.objects.get().score == 5
    open_ticket = tickets.ticket_open(
        requester=owner, channel=Channel.API, body="Another", category="payments"
    )
    not_solved = Client().post(
        f"/api/v1/tickets/{open_ticket.pk}/rating",
        {"score": 3},
        content_type="application/json",
        **headers,
    )
    assert not_solved.status_code == 422 and not_solved.json()["code"] == "not_solved"
