"""The console's triage view: uncategorised conversations, the guess, one-click decisions."""

import re

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import services
from tickets.choices import Channel, TicketStatus
from tickets.models import Ticket
from triage.models import LabelledExample

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    from triage import services as triage_services

    settings.IZONIE_TRIAGE_MODEL_DIR = tmp_path / "models"
    triage_services._LOADED.clear()
    yield
    triage_services._LOADED.clear()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _unsure(body="Hello, good afternoon", **kwargs) -> Ticket:
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body=body, **kwargs
    )
    assert ticket.category == ""
    return ticket


def _row(page: str, ticket: Ticket) -> str:
    match = re.search(rf'<tr id="triage-{ticket.pk}">(.*?)</tr>', page, re.S)
    assert match, f"{ticket.reference} not listed"
    return match.group(1)


def test_the_queue_lists_uncategorised_conversations_with_the_guess_and_confidence():
    waiting = _unsure(subject="Need help")
    categorised = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="I can't log in to the app"
    )
    assert categorised.category == "technical_support"
    page = signed_in(AgentFactory()).get("/console/triage/").content.decode()
    row = _row(page, waiting)
    guess = waiting.triage
    name = {
        "order_status": "Order Status",
        "payments": "Payments",
        "returns": "Returns",
        "technical_support": "Technical Support",
        "seller_support": "Seller Support",
    }
    assert name[guess.predicted_category] in row
    assert f"{round(guess.confidence * 100)}%" in row
    assert "· v1" in row
    assert f'aria-label="Confirm {name[guess.predicted_category]} for {waiting.reference}"' in row
    assert f"triage-{categorised.pk}" not in page
    assert "Waiting for a category (1)" in page
    assert "In use: version 1" in page


def test_confirm_files_the_ticket_under_the_guess_and_records_a_label():
    ticket = _unsure()
    guess = ticket.triage.predicted_category
    agent = AgentFactory()
    client = signed_in(agent)
    response = client.post(f"/console/triage/{ticket.pk}/categorise", {"category": guess})
    assert response.status_code == 302 and response["Location"] == "/console/triage/"
    ticket.refresh_from_db()
    assert ticket.category == guess
    example = LabelledExample.objects.get(ticket=ticket)
    assert (example.category, example.predicted_category, example.labelled_by) == (
        guess,
        guess,
        agent,
    )
    page = client.get("/console/triage/").content.decode()
    assert f"{ticket.reference} filed under" in page
    assert "Nothing waits for a category" in page


def test_correcting_to_another_category_moves_the_ticket_to_that_team():
    ticket = _unsure()
    signed_in(AgentFactory()).post(
        f"/console/triage/{ticket.pk}/categorise", {"category": "seller_support", "page": "2"}
    )
    ticket.refresh_from_db()
    # A buyer cannot be filed under the sellers' category by a customer, but an agent may.
    assert (ticket.category, ticket.team) == ("seller_support", "seller_team")


@pytest.mark.parametrize(
    ("category", "said"),
    [
        ("", "choose a category."),
        ("refunds-please", "is not a support category"),
        ("<script>", "is not a support category"),
    ],
)
def test_a_bad_category_changes_nothing_and_says_why(category, said):
    ticket = _unsure()
    client = signed_in(AgentFactory())
    response = client.post(
        f"/console/triage/{ticket.pk}/categorise", {"category": category, "page": "3"}
    )
    assert response.status_code == 302 and response["Location"] == "/console/triage/?page=3"
    ticket.refresh_from_db()
    assert ticket.category == ""
    assert not LabelledExample.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert f"{ticket.reference}: " in page and said in page
    assert "<script>" not in page.split("<main", 1)[1]


def test_an_unknown_ticket_is_404():
    response = signed_in(AgentFactory()).post(
        "/console/triage/999999/categorise", {"category": "returns"}
    )
    assert response.status_code == 404


def test_closed_conversations_do_not_wait_in_triage():
    ticket = _unsure()
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.CLOSED)
    page = signed_in(AgentFactory()).get("/console/triage/").content.decode()
    assert f"triage-{ticket.pk}" not in page


def test_the_queue_is_paginated_oldest_first():
    tickets = [_unsure(subject=f"Question {n}") for n in range(27)]
    client = signed_in(AgentFactory())
    first = client.get("/console/triage/").content.decode()
    assert "Page 1 of 2" in first
    assert f"triage-{tickets[0].pk}" in first and f"triage-{tickets[25].pk}" not in first
    second = client.get("/console/triage/?page=2").content.decode()
    assert f"triage-{tickets[25].pk}" in second and f"triage-{tickets[26].pk}" in second
    # A page number past the end shows the last page rather than an error.
    assert client.get("/console/triage/?page=99").status_code == 200


def test_a_damaged_model_is_announced_in_the_console(settings):
    _unsure()
    (settings.IZONIE_TRIAGE_MODEL_DIR / "triage-v1.joblib").write_bytes(b"not a model")
    from triage import services as triage_services

    triage_services._LOADED.clear()
    page = signed_in(AgentFactory()).get("/console/triage/").content.decode()
    assert 'role="alert"' in page
    assert (
        "The text model cannot be used: Classifier v1: the model file triage-v1.joblib is" in page
    )
    assert "categorised by the policy's rules only" in page


def test_the_ticket_page_tells_how_triage_categorised_it():
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="I was debited twice, reverse it"
    )
    assert ticket.category == "payments"
    page = signed_in(AgentFactory()).get(f"/console/tickets/{ticket.pk}/").content.decode()
    percent = round(ticket.triage.confidence * 100)
    assert f"Triage: guessed Payments ({percent}%, classifier v1), applied." in page
    assert "Order number asked for" in page


def test_the_routing_panel_shows_each_teams_strategy_and_load():
    agent = AgentFactory(teams=["payments"])
    services.ticket_open(
        requester=BuyerFactory(), channel=Channel.WEB_FORM, category="payments", body="Refund"
    )
    page = signed_in(agent).get("/console/triage/").content.decode()
    routing = page.split('id="routing-heading"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>\s*(.*?)</tr>", routing, re.S)
    cells = {
        re.sub("<.*?>", "", row.split("</td>")[0]).strip(): [
            re.sub("<.*?>", "", cell).strip() for cell in row.split("</td>")[1:-1]
        ]
        for row in rows
        if "<td>" in row
    }
    assert cells["Payments"] == ["Least loaded", "25 per agent", "1 agent", "1 active", "0 waiting"]
    assert cells["Supervisors"][0] == "Manual (agents pick)"
