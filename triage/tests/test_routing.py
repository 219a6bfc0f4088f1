"""New conversations go to an agent of their team, by the team's strategy in the policy."""

import pytest
import yaml
from django.conf import settings as django_settings

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from policy.loader import reset_policy_cache
from tickets import services, workflows
from tickets.choices import Channel, EventKind, TicketStatus
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(settings, tmp_path):
    """Rewrite the policy's team settings: ``teams(customer_care={"assignment": ...})``."""

    def configure(**changes):
        data = yaml.safe_load(django_settings.IZONIE_POLICY_FILE.read_text())
        for team in data["teams"]:
            if team["key"] in changes:
                team.pop("capacity", None)
                team.update(changes[team["key"]])
        path = tmp_path / "policy.yaml"
        path.write_text(yaml.safe_dump(data))
        settings.IZONIE_POLICY_FILE = path
        reset_policy_cache()

    return configure


def _open(category="technical_support", **kwargs):
    return services.ticket_open(
        requester=BuyerFactory(), channel=Channel.WEB_FORM, category=category, body="Help", **kwargs
    )


def test_round_robin_takes_the_team_in_turn():
    agents = [AgentFactory(teams=["customer_care"]) for _ in range(3)]
    AgentFactory(teams=["payments"])  # another team
    AgentFactory(teams=["customer_care"], is_active=False)
    tickets = [_open("order_status") for _ in range(4)]
    assignees = [t.assignee_id for t in tickets]
    # Where the rotation starts is the team's history (on PostgreSQL a sequence that a
    # rolled-back test does not rewind); from there, each agent in id order, then again.
    ids = [a.pk for a in agents]
    start = ids.index(assignees[0])
    assert assignees == [ids[(start + n) % 3] for n in range(4)]
    event = tickets[0].events.get(kind=EventKind.ASSIGNED)
    assert (event.actor, event.data) == (None, {"old": None, "new": assignees[0]})


def test_least_loaded_picks_the_agent_with_fewest_active_conversations():
    busy, idle = AgentFactory(teams=["payments"]), AgentFactory(teams=["payments"])
    TicketFactory(assignee=busy, status=TicketStatus.OPEN)
    TicketFactory(assignee=idle, status=TicketStatus.RESOLVED)  # solved: not a load
    TicketFactory(assignee=idle, status=TicketStatus.PENDING)  # waiting on the customer
    first = _open("payments")
    assert first.assignee_id == idle.pk
    second = _open("payments")  # now one each; the tie goes to the lower id
    assert second.assignee_id == min(busy.pk, idle.pk)


def test_agents_at_capacity_are_skipped_and_a_full_team_leaves_the_queue(teams):
    teams(technical={"assignment": "least_loaded", "capacity": 1})
    full = AgentFactory(teams=["technical"])
    TicketFactory(assignee=full, status=TicketStatus.OPEN)
    free = AgentFactory(teams=["technical"])
    assert _open().assignee_id == free.pk
    waiting = _open()
    assert (waiting.team, waiting.assignee_id) == ("technical", None)
    assert not waiting.events.filter(kind=EventKind.ASSIGNED).exists()


def test_round_robin_respects_capacity(teams):
    teams(customer_care={"assignment": "round_robin", "capacity": 1})
    first, second = AgentFactory(teams=["customer_care"]), AgentFactory(teams=["customer_care"])
    TicketFactory(assignee=first, status=TicketStatus.OPEN)
    assert _open("returns").assignee_id == second.pk
    assert _open("returns").assignee_id is None


def test_a_manual_team_leaves_tickets_for_agents_to_pick(teams):
    teams(customer_care={"assignment": "manual"})
    AgentFactory(teams=["customer_care"])
    assert _open("order_status").assignee_id is None


def test_supervisors_in_a_team_take_turns_too_but_customers_never():
    supervisor = SupervisorFactory(teams=["seller_team"])
    BuyerFactory(teams=["seller_team"])
    from accounts.tests.factories import SellerUserFactory

    ticket = services.ticket_open(
        requester=SellerUserFactory(),
        channel=Channel.WEB_FORM,
        category="seller_support",
        body="Payout",
    )
    assert ticket.assignee_id == supervisor.pk


def test_an_uncategorised_ticket_waits_unassigned_then_is_routed_when_filed():
    agent = AgentFactory(teams=["customer_care"])
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="Good afternoon"
    )
    assert (ticket.category, ticket.assignee_id) == ("", None)
    filed = workflows.ticket_categorise_from_triage(
        ticket=ticket, actor=AgentFactory(teams=["payments"]), category="returns"
    )
    assert (filed.category, filed.team, filed.assignee_id) == ("returns", "customer_care", agent.pk)


def test_the_triage_view_says_who_got_the_ticket(client):
    agent = AgentFactory(teams=["technical"], display_name="Tunde")
    ticket = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="Good afternoon"
    )
    client.force_login(agent)
    response = client.post(
        f"/console/triage/{ticket.pk}/categorise", {"category": "technical_support"}, follow=True
    )
    assert f"{ticket.reference} filed under Technical Support, assigned to Tunde." in (
        response.content.decode()
    )


def test_least_loaded_counts_its_own_choices_and_refreshes_the_snapshot(monkeypatch, teams):
    from workload import routing

    teams(payments={"assignment": "least_loaded", "capacity": 1})
    agent = AgentFactory(teams=["payments"])
    first = _open("payments")
    assert first.assignee_id == agent.pk
    assert _open("payments").assignee_id is None  # counted into the snapshot: at capacity
    services.ticket_update(ticket=first, actor=agent, status=TicketStatus.RESOLVED)
    assert _open("payments").assignee_id is None  # the snapshot is still young
    monkeypatch.setattr(routing, "LOAD_SNAPSHOT_SECONDS", 0)
    assert _open("payments").assignee_id == agent.pk  # recounted: capacity is free again


def test_the_team_lists_follow_agents_joining_and_leaving_at_once(teams):
    """The team lists are cached for speed; changing an account clears them."""
    teams(customer_care={"assignment": "least_loaded"})
    first = AgentFactory(teams=["customer_care"])
    assert _open("order_status").assignee == first  # the list is cached now

    newcomer = AgentFactory(teams=["customer_care"])
    assert _open("order_status").assignee == newcomer  # fewest conversations

    newcomer.is_active = False
    newcomer.save()
    first.teams = ["payments"]
    first.save()
    assert _open("order_status").assignee is None  # nobody left in the team
