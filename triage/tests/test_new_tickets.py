"""Tickets opened without a category are categorised, or wait in triage; agents' changes
become labelled examples, and retraining runs in the background."""

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory, SellerUserFactory
from mail.intake import ingest_raw
from mail.tests.test_intake import mail
from tickets import services
from tickets.choices import Channel, Direction, EventKind
from triage.models import (
    ClassifierStatus,
    ClassifierVersion,
    LabelledExample,
    PredictionSource,
    TicketTriage,
)

pytestmark = pytest.mark.django_db


def _open(body, *, requester=None, channel=Channel.EMAIL, **kwargs):
    return services.ticket_open(
        requester=requester or BuyerFactory(), channel=channel, body=body, **kwargs
    )


def test_an_email_is_categorised_and_the_model_version_recorded():
    record = ingest_raw(
        raw=mail(subject="Charged twice", body="I was debited twice for one order, reverse one.")
    )
    ticket = record.ticket
    assert (ticket.category, ticket.team) == ("payments", "payments")
    triage = TicketTriage.objects.get(ticket=ticket)
    assert triage.applied is True
    assert triage.source == PredictionSource.RULES_AND_MODEL
    assert triage.classifier == ClassifierVersion.objects.get(status=ClassifierStatus.ACTIVE)
    assert triage.classifier.version == 1
    assert triage.confidence >= 0.6
    # The created event (what reports read) already carries the category.
    created = ticket.events.get(kind=EventKind.CREATED)
    assert (created.data["category"], created.data["team"]) == ("payments", "payments")


def test_an_unsure_guess_leaves_the_ticket_in_triage():
    ticket = _open("Hello, good afternoon")
    assert (ticket.category, ticket.team) == ("", "")
    triage = ticket.triage
    assert triage.applied is False
    assert triage.predicted_category != ""
    assert triage.confidence < 0.6


@pytest.mark.parametrize("body", ["🙏🏾🙏🏾😭", "你好 我需要帮助"])
def test_emoji_only_and_other_scripts_wait_in_triage(body):
    ticket = _open(body)
    assert ticket.category == ""
    assert ticket.triage.applied is False


def test_a_message_at_the_size_limit_is_categorised():
    body = "Where is my order? It never arrived. " + "x" * (services.MAX_BODY_CHARS - 100)
    ticket = _open(body)
    assert ticket.category == "order_status"


def test_a_buyer_is_never_filed_under_the_sellers_category():
    # From a buyer's account, a seller's words leave nothing to route on: an agent decides.
    ticket = _open("My payout has not arrived and my listings are gone", requester=BuyerFactory())
    assert ticket.triage.predicted_category != "seller_support"
    assert ticket.category == ""
    assert ticket.triage.applied is False
    # A buyer's "get paid" is about Payments (for anyone else it could be a seller's).
    paid = _open("How do I get paid?", requester=BuyerFactory())
    assert (paid.category, paid.team) == ("payments", "payments")
    seller_ticket = _open(
        "My payout has not arrived and my listings are gone", requester=SellerUserFactory()
    )
    assert (seller_ticket.category, seller_ticket.team) == ("seller_support", "seller_team")


def test_a_category_the_customer_chose_is_kept_and_not_predicted():
    ticket = _open("The app crashes", channel=Channel.WEB_FORM, category="technical_support")
    assert ticket.category == "technical_support"
    assert not TicketTriage.objects.filter(ticket=ticket).exists()


def test_a_damaged_model_falls_back_to_rules_and_records_why(settings):
    _open("warm up: where is my order")  # trains version 1
    path = settings.IZONIE_TRIAGE_MODEL_DIR / "triage-v1.joblib"
    path.write_bytes(path.read_bytes()[:-10])
    from triage import services as triage_services

    triage_services._LOADED.clear()
    ticket = _open("I can't log in, error 500 on the website")
    assert ticket.category == "technical_support"
    assert ticket.triage.source == PredictionSource.RULES
    assert ticket.triage.classifier is None
    assert "damaged" in ticket.triage.fallback_reason


def test_an_agents_recategorisation_becomes_a_labelled_example(
    django_capture_on_commit_callbacks, run_tasks
):
    ticket = _open("Hello, good afternoon", subject="Question")
    agent = AgentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_update(ticket=ticket, actor=agent, category="returns")
    example = LabelledExample.objects.get(ticket=ticket)
    assert (example.category, example.labelled_by) == ("returns", agent)
    assert example.text == "Question\nHello, good afternoon"
    assert example.predicted_category == ticket.triage.predicted_category
    # The background task trains version 2 with the new label.
    assert run_tasks() >= 1
    newest = ClassifierVersion.objects.order_by("-version").first()
    assert newest.version == 2
    assert newest.labelled_examples == 1
    assert newest.status in (ClassifierStatus.ACTIVE, ClassifierStatus.REJECTED)


def test_a_second_correction_replaces_the_label_instead_of_adding_one(
    django_capture_on_commit_callbacks,
):
    ticket = _open("Hello, good afternoon")
    agent = AgentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_update(ticket=ticket, actor=agent, category="returns")
        services.ticket_update(ticket=ticket, actor=agent, category="payments")
    assert list(LabelledExample.objects.values_list("category", flat=True)) == ["payments"]


def test_saving_other_fields_with_the_same_category_is_no_label(
    django_capture_on_commit_callbacks,
):
    ticket = _open("The app crashes", channel=Channel.WEB_FORM, category="technical_support")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.ticket_update(
            ticket=ticket, actor=AgentFactory(), category="technical_support", priority="high"
        )
    assert not LabelledExample.objects.exists()
    # only the real-time hint and the reports' rollup refresh; no retrain enqueued
    assert len(callbacks) == 2


def test_the_first_customer_message_is_the_labelled_text_not_a_system_reply():
    ticket = _open("Hello, I need help", subject="Help")
    services.ticket_update(ticket=ticket, actor=AgentFactory(), category="order_status")
    assert ticket.messages.filter(direction=Direction.OUTBOUND).count() == 1  # asked for order
    assert LabelledExample.objects.get().text == "Help\nHello, I need help"


def test_an_unwritable_model_directory_leaves_the_rules_in_charge(settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the model directory should be")
    settings.IZONIE_TRIAGE_MODEL_DIR = blocker / "models"
    ticket = _open("I can't log in, the password reset fails")
    assert ticket.category == "technical_support"
    assert ticket.triage.source == PredictionSource.RULES
    assert ticket.triage.fallback_reason == "No text model has been trained yet."
    assert not ClassifierVersion.objects.exists()
    # The next ticket does not retry training straight away.
    from triage import services as triage_services

    assert triage_services._bootstrap_failed_at > float("-inf")
    assert _open("where is my order").triage.source == PredictionSource.RULES
