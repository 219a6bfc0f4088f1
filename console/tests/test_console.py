import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from sla.models import EscalationStatus
from tickets import delivery
from tickets.choices import Channel, DeliveryStatus, EventKind, TicketStatus
from tickets.escalation import escalation_request
from tickets.models import OutboundMessage
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_customers_are_refused_and_anonymous_sent_to_sign_in():
    assert signed_in(BuyerFactory()).get("/console/").status_code == 403
    response = Client().get("/console/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_inbox_views_counts_and_filters():
    agent = AgentFactory()
    mine = TicketFactory(
        assignee=agent, status=TicketStatus.OPEN, category="payments", subject="Card charged twice"
    )
    TicketFactory(status=TicketStatus.NEW, category="returns", subject="Cracked screen")
    TicketFactory(status=TicketStatus.PENDING, subject="Waiting for photo")
    client = signed_in(agent)
    page = client.get("/console/").content.decode()
    assert "Card charged twice" in page and "Cracked screen" in page
    # "All active" is every unresolved ticket: waiting on the customer included
    assert "Waiting for photo" in page
    assert 'aria-label="1 tickets"' in page  # "Assigned to me" count
    mine_page = client.get("/console/?view=mine").content.decode()
    assert "Card charged twice" in mine_page and "Cracked screen" not in mine_page
    filtered = client.get("/console/?category=returns").content.decode()
    assert "Cracked screen" in filtered and "Card charged twice" not in filtered
    searched = client.get("/console/?q=twice").content.decode()
    assert mine.reference in searched and "Cracked screen" not in searched
    empty = client.get("/console/?q=nothing-like-this").content.decode()
    assert "No tickets here" in empty


def test_htmx_filter_returns_only_the_table():
    TicketFactory(status=TicketStatus.OPEN, subject="Refund please")
    response = signed_in(AgentFactory()).get("/console/?q=refund", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Refund please" in body and "<html" not in body


def test_htmx_history_restore_gets_the_whole_page_and_responses_vary():
    client = signed_in(AgentFactory())
    restore = client.get(
        "/console/?q=x", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()
    assert "HX-Request" in restore["Vary"]
    assert "HX-Request" in client.get("/console/")["Vary"]


def test_inbox_filters_by_channel_status_and_team():
    TicketFactory(status=TicketStatus.OPEN, channel=Channel.EMAIL, subject="By email")
    TicketFactory(status=TicketStatus.OPEN, channel=Channel.WEB_FORM, subject="By form")
    TicketFactory(status=TicketStatus.PENDING, team="payments", subject="Waiting payments")
    client = signed_in(AgentFactory())
    by_channel = client.get("/console/?channel=email").content.decode()
    assert "By email" in by_channel and "By form" not in by_channel
    by_status = client.get("/console/?status=pending&team=payments").content.decode()
    assert "Waiting payments" in by_status and "By email" not in by_status
    assert '<time datetime="' in by_channel


def test_next_page_link_walks_the_inbox():
    tickets = [TicketFactory(status=TicketStatus.OPEN) for _ in range(30)]
    client = signed_in(AgentFactory())
    first = client.get("/console/")
    assert len(first.context["page"].tickets) == 25
    cursor = first.context["page"].next_cursor
    second = client.get(f"/console/?view=open&cursor={cursor}")
    seen = {t.pk for t in first.context["page"].tickets} | {
        t.pk for t in second.context["page"].tickets
    }
    assert seen == {t.pk for t in tickets}
    broken = client.get("/console/?cursor=garbage")
    assert broken.status_code == 200
    assert "That page link has expired" in broken.content.decode()


def test_agent_reply_is_delivered_and_shown(django_capture_on_commit_callbacks, run_tasks):
    ticket = TicketFactory()
    agent = AgentFactory()
    client = signed_in(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/console/tickets/{ticket.pk}/reply",
            {"body": "Your refund is on its way", "status": "pending"},
        )
    assert response.status_code == 302
    run_tasks()
    outbound = OutboundMessage.objects.get()
    assert outbound.status == DeliveryStatus.SENT
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING and ticket.assignee == agent
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Your refund is on its way" in page and "Delivery: Sent" in page
    customer_page = signed_in(ticket.requester).get(f"/requests/{ticket.pk}/").content.decode()
    assert "Your refund is on its way" in customer_page


def test_empty_reply_shows_an_error():
    ticket = TicketFactory()
    response = signed_in(AgentFactory()).post(f"/console/tickets/{ticket.pk}/reply", {"body": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required" in page and "Nothing was saved" in page
    assert not OutboundMessage.objects.exists()


def test_note_is_shown_to_agents_as_a_note_and_hidden_from_the_customer():
    ticket = TicketFactory()
    client = signed_in(AgentFactory())
    response = client.post(f"/console/tickets/{ticket.pk}/note", {"body": "Fraud check pending"})
    assert response.status_code == 302
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert 'class="note"' in page and "internal note" in page and "Fraud check pending" in page
    customer_page = signed_in(ticket.requester).get(f"/requests/{ticket.pk}/").content.decode()
    assert "Fraud check pending" not in customer_page


def test_note_and_details_form_write_events():
    ticket = TicketFactory()
    agent, other = AgentFactory(), AgentFactory()
    client = signed_in(agent)
    client.post(f"/console/tickets/{ticket.pk}/note", {"body": "Called the courier"})
    client.post(
        f"/console/tickets/{ticket.pk}/update",
        {
            "status": "on_hold",
            "category": "payments",
            "priority": "high",
            "team": "payments",
            "assignee": str(other.pk),
        },
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.category, ticket.priority, ticket.assignee) == (
        "on_hold",
        "payments",
        "high",
        other,
    )
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {
        EventKind.NOTE_ADDED,
        EventKind.STATUS_CHANGED,
        EventKind.CATEGORY_CHANGED,
        EventKind.PRIORITY_CHANGED,
        EventKind.ASSIGNED,
    } <= kinds


def test_failed_delivery_is_visible_and_can_be_retried(
    django_capture_on_commit_callbacks, run_tasks
):
    ticket = TicketFactory(channel=Channel.TIKTOK)
    client = signed_in(AgentFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/console/tickets/{ticket.pk}/reply", {"body": "Hello"})
    run_tasks()
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    # The ticket did not come in through a connected TikTok account (social/ says so).
    assert "Delivery: Failed" in page and "connected social account" in page
    outbound = OutboundMessage.objects.get()
    social_transport = delivery._transports.get(Channel.TIKTOK)
    delivery.register_transport(Channel.TIKTOK, lambda outbound: None)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/console/tickets/{ticket.pk}/deliveries/{outbound.pk}/retry")
        run_tasks()
    finally:
        delivery._transports.pop(Channel.TIKTOK, None)
        if social_transport is not None:
            delivery.register_transport(Channel.TIKTOK, social_transport)
    outbound.refresh_from_db()
    assert outbound.status == DeliveryStatus.SENT


def test_supervisor_records_escalation_contact_agents_cannot():
    ticket = TicketFactory()
    escalation, _ = escalation_request(
        ticket=ticket, requested_by=ticket.requester, channel="web_form"
    )
    url = f"/console/tickets/{ticket.pk}/escalations/{escalation.pk}/contact"
    assert signed_in(AgentFactory()).post(url, {"summary": "x"}).status_code == 403
    supervisor = signed_in(SupervisorFactory())
    assert ticket.reference in supervisor.get("/console/escalations/").content.decode()
    assert supervisor.post(url, {"summary": "Called, agreed a refund"}).status_code == 302
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.CONTACTED


def test_unknown_ticket_is_404():
    assert signed_in(AgentFactory()).get("/console/tickets/99999/").status_code == 404


def test_agent_escalates_for_the_customer_and_board_shows_running_clocks():
    from sla import services as sla_services

    ticket = TicketFactory(channel=Channel.EMAIL, subject="Refund never came")
    sla_services.on_ticket_opened(ticket=ticket, at=ticket.created_at)
    client = signed_in(AgentFactory())
    board = client.get("/console/sla/").content.decode()
    assert "Refund never came" in board and "Email response" in board and "on time" in board
    client.post(f"/console/tickets/{ticket.pk}/escalate", {"reason": "Customer phoned"})
    client.post(f"/console/tickets/{ticket.pk}/escalate", {"reason": "Again"})
    ticket.refresh_from_db()
    assert ticket.team == "supervisors"
    assert ticket.escalations.count() == 1
    assert "Supervisor contact after an escalation" in client.get("/console/sla/").content.decode()
