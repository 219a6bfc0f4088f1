import pytest

from accounts.tests.factories import AgentFactory, SupervisorFactory
from tickets.choices import EventKind, Priority, TicketStatus
from tickets.tests.api.client import API, assert_problem, client_for, patch_json
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_agent_changes_several_fields_and_each_change_is_recorded():
    agent = AgentFactory()
    ticket = TicketFactory(assignee=agent, category="order_status", team="customer_care")

    response = patch_json(
        client_for(agent),
        f"{API}/{ticket.pk}",
        {"priority": "high", "category": "payments", "status": "on_hold", "assignee_id": None},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["category"], body["assignee"]) == (
        "on_hold",
        "high",
        "payments",
        None,
    )
    assert body["team"] == "payments"  # the ticket follows its category's team
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {
        EventKind.STATUS_CHANGED,
        EventKind.PRIORITY_CHANGED,
        EventKind.CATEGORY_CHANGED,
        EventKind.TEAM_CHANGED,
        EventKind.ASSIGNED,
    } <= kinds


def test_fields_left_out_are_kept():
    agent = AgentFactory()
    ticket = TicketFactory(assignee=agent, priority=Priority.URGENT)
    response = patch_json(client_for(agent), f"{API}/{ticket.pk}", {"status": "open"})
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.priority) == (
        TicketStatus.OPEN,
        agent,
        Priority.URGENT,
    )


def test_assign_to_another_agent_or_a_supervisor():
    ticket = TicketFactory()
    supervisor = SupervisorFactory()
    response = patch_json(
        client_for(AgentFactory()), f"{API}/{ticket.pk}", {"assignee_id": supervisor.pk}
    )
    assert response.json()["assignee"] == {"id": supervisor.pk, "name": str(supervisor)}


@pytest.mark.parametrize("who", ["customer", "unknown", "inactive agent"])
def test_only_active_agents_can_be_assigned(who):
    ticket = TicketFactory()
    assignee_id = {
        "customer": lambda: ticket.requester_id,
        "unknown": lambda: 987654,
        "inactive agent": lambda: AgentFactory(is_active=False).pk,
    }[who]()
    response = patch_json(
        client_for(AgentFactory()), f"{API}/{ticket.pk}", {"assignee_id": assignee_id}
    )
    assert_problem(response, status=422, code="invalid_assignee", field="assignee_id")
    ticket.refresh_from_db()
    assert ticket.assignee is None


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"status": "sleeping"}, "invalid_input", "status"),
        ({"priority": "asap"}, "invalid_input", "priority"),
        ({"priority": 3}, "invalid_input", "priority"),
        ({"category": "gardening"}, "invalid_category", "category"),
        ({"category": ""}, "invalid_input", "category"),
        ({"team": "marketing"}, "invalid_team", "team"),
        ({"assignee_id": 10**30}, "invalid_input", "assignee_id"),
        ({"assignee_id": "me"}, "invalid_input", "assignee_id"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(payload, code, field):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = patch_json(client_for(AgentFactory()), f"{API}/{ticket.pk}", payload)
    assert_problem(response, status=422, code=code, field=field)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.category, ticket.team) == (
        TicketStatus.OPEN,
        Priority.NORMAL,
        "order_status",
        "customer_care",
    )
    assert not ticket.events.exists()


def test_an_agent_can_reopen_a_closed_ticket():
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    response = patch_json(client_for(AgentFactory()), f"{API}/{ticket.pk}", {"status": "open"})
    assert response.json()["status"] == "open"


def test_customers_get_403_and_their_ticket_is_unchanged():
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = patch_json(client_for(ticket.requester), f"{API}/{ticket.pk}", {"status": "closed"})
    assert_problem(response, status=403, code="forbidden")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
