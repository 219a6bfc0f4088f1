"""The one-click rating page in Chromium: one click records the score, a comment can
follow; a reused or tampered link shows a clear page and records nothing twice."""

import re

import pytest
from django.core import mail as django_mail

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from feedback.models import Rating
from tickets import services
from tickets.choices import Channel, EventKind

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_one_click_rating_then_comment_and_a_reused_link(page, live_server, run_tasks, settings):
    settings.IZONIE_PUBLIC_URL = live_server.url
    ticket = services.ticket_open(
        requester=BuyerFactory(email="ada@example.com"),
        channel=Channel.EMAIL,
        body="My wallet balance is wrong",
        category="payments",
    )
    services.ticket_reply(
        ticket=ticket, author=AgentFactory(), body="Corrected it.", status="resolved"
    )
    run_tasks()
    [email] = [m for m in django_mail.outbox if "How did we do" in m.subject]
    links = dict(re.findall(r"^(\d): (http\S+)$", email.body, flags=re.MULTILINE))

    page.goto(links["4"])
    status = page.get_by_role("status").filter(has_text="We recorded your rating")
    status.wait_for()
    assert "4 out of 5" in status.inner_text()
    page.screenshot(path=screenshot_path("rating-thanks"), full_page=True)
    page.get_by_label("What went well, or what should we improve?").fill("Quick and polite")
    page.get_by_role("button", name="Send comment").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your comment is saved").is_visible()
    rating = Rating.objects.get()
    assert (rating.score, rating.comment) == (4, "Quick and polite")

    # The same link again, in a fresh tab: recorded once, and the page says so.
    second = page.context.new_page()
    second.goto(links["4"])
    second.get_by_text("was already recorded").wait_for()
    assert ticket.events.filter(kind=EventKind.RATED).count() == 2  # score, then comment

    signed = links["5"].rstrip("/")
    tampered = signed[:-2] + ("zz" if not signed.endswith("zz") else "yy") + "/"
    second.goto(tampered)
    assert second.get_by_role("heading", name="We could not use this rating link").is_visible()
    assert second.get_by_role("button", name="Confirm my rating of 5").count() == 0
    assert Rating.objects.get().score == 4
