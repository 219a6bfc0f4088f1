import base64
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import AgentFactory
from tickets.choices import Channel, SubChannel, TicketStatus
from tickets.models import Ticket
from tickets.tests.api.client import API, assert_problem, client_for
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def walk(client, query: str) -> list[int]:
    """Every id the list returns, following next_cursor to the end."""
    seen, cursor = [], None
    while True:
        page = client.get(f"{API}?{query}" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_customers_list_only_their_own_tickets():
    mine = TicketFactory()
    other = TicketFactory()
    client = client_for(mine.requester)
    assert ids(client.get(API)) == [mine.pk]
    assert ids(client.get(f"{API}?requester={other.requester_id}")) == []


def test_keyset_pages_return_every_ticket_once_newest_first():
    # given: ten tickets, four of them touched in the same instant (ties on updated_at)
    tickets = [TicketFactory(status=TicketStatus.OPEN) for _ in range(10)]
    same_moment = timezone.now()
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[3:7]]).update(updated_at=same_moment)
    # when
    seen = walk(client_for(AgentFactory()), "limit=3&status=open")
    # then
    expected = list(Ticket.objects.order_by("-updated_at", "-id").values_list("pk", flat=True))
    assert seen == expected
    assert len(seen) == len(set(seen)) == 10


def test_a_page_of_exactly_limit_items_at_the_end_has_no_next_cursor():
    for _ in range(4):
        TicketFactory()
    client = client_for(AgentFactory())
    first = client.get(f"{API}?limit=2").json()
    second = client.get(f"{API}?limit=2&cursor={first['next_cursor']}").json()
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_filters_combine():
    agent = AgentFactory()
    wanted = TicketFactory(
        category="payments",
        team="payments",
        channel=Channel.EMAIL,
        assignee=agent,
        status=TicketStatus.OPEN,
        subject="Double charge on card",
    )
    TicketFactory(category="payments", channel=Channel.EMAIL, status=TicketStatus.OPEN)
    TicketFactory(category="returns", channel=Channel.EMAIL, assignee=agent)
    client = client_for(agent)
    combined = client.get(f"{API}?category=payments&channel=email&assignee=me&status=open")
    assert ids(combined) == [wanted.pk]
    assert ids(client.get(f"{API}?assignee={agent.pk}&team=payments")) == [wanted.pk]
    assert ids(client.get(f"{API}?requester={wanted.requester_id}")) == [wanted.pk]
    assert ids(client.get(f"{API}?q=double charge")) == [wanted.pk]
    assert ids(client.get(f"{API}?q=IZS-{wanted.pk}")) == [wanted.pk]
    assert wanted.pk not in ids(client.get(f"{API}?assignee=none&category=payments"))


def test_offline_chat_messages_are_listed_by_their_sub_channel():
    # Left with the chat widget while chat was closed: answered by email.
    offline = TicketFactory(channel=Channel.EMAIL, sub_channel=SubChannel.CHAT_OFFLINE)
    mailed = TicketFactory(channel=Channel.EMAIL)
    TicketFactory(channel=Channel.LIVE_CHAT)
    client = client_for(AgentFactory())
    assert ids(client.get(f"{API}?sub_channel=chat_offline")) == [offline.pk]
    assert set(ids(client.get(f"{API}?channel=email"))) == {offline.pk, mailed.pk}
    assert ids(client.get(f"{API}?channel=email&sub_channel=chat_offline")) == [offline.pk]
    assert ids(client.get(f"{API}?channel=live_chat&sub_channel=chat_offline")) == []
    listed = client.get(f"{API}?sub_channel=chat_offline").json()["items"][0]
    assert listed["sub_channel"] == "chat_offline"


def test_status_is_repeatable_and_an_empty_category_means_in_triage():
    new = TicketFactory(status=TicketStatus.NEW)
    pending = TicketFactory(status=TicketStatus.PENDING)
    TicketFactory(status=TicketStatus.CLOSED)
    untriaged = TicketFactory(status=TicketStatus.NEW, category="", team="")
    client = client_for(AgentFactory())
    assert set(ids(client.get(f"{API}?status=new&status=pending"))) == {
        new.pk,
        pending.pk,
        untriaged.pk,
    }
    assert ids(client.get(f"{API}?category=")) == [untriaged.pk]


def test_an_assignee_id_nobody_has_is_just_an_empty_list():
    TicketFactory(assignee=AgentFactory())
    assert ids(client_for(AgentFactory()).get(f"{API}?assignee=987654")) == []


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("cursor=not-a-cursor", 400, "invalid_cursor", "cursor"),
        (f"cursor={_cursor('0001-01-01T00:00:00+05:00|5')}", 400, "invalid_cursor", "cursor"),
        (f"cursor={_cursor('2026-01-01T00:00:00|5')}", 400, "invalid_cursor", "cursor"),
        ("cursor=" + "A" * 201, 422, "invalid_input", "cursor"),
        ("limit=1000", 422, "invalid_input", "limit"),
        (f"limit={10**30}", 422, "invalid_input", "limit"),
        ("limit=0", 422, "invalid_input", "limit"),
        ("limit=ten", 422, "invalid_input", "limit"),
        ("status=sleeping", 422, "invalid_input", "status.0"),
        ("status=open&status=sleeping", 422, "invalid_input", "status.1"),
        ("channel=fax", 422, "invalid_input", "channel"),
        ("sub_channel=pigeon", 422, "invalid_input", "sub_channel"),
        ("requester=abc", 422, "invalid_input", "requester"),
        (f"requester={10**20}", 422, "invalid_input", "requester"),
        ("assignee=somebody", 422, "invalid_assignee", "assignee"),
        ("assignee=%C2%B2", 422, "invalid_assignee", "assignee"),  # "²" passes str.isdigit()
        (f"assignee={10**19}", 422, "invalid_assignee", "assignee"),
        ("q=" + "x" * 201, 422, "invalid_input", "q"),
    ],
)
def test_bad_list_parameters_are_json_errors(query, status, code, field):
    response = client_for(AgentFactory()).get(f"{API}?{query}")
    assert_problem(response, status=status, code=code, field=field)


def test_a_cursor_far_in_the_future_is_accepted_and_starts_at_the_newest():
    ticket = TicketFactory()
    later = (timezone.now() + dt.timedelta(days=365)).isoformat()
    response = client_for(AgentFactory()).get(f"{API}?cursor={_cursor(f'{later}|1')}")
    assert ids(response) == [ticket.pk]


def test_a_page_costs_the_same_queries_for_2_tickets_as_for_20():
    client = client_for(AgentFactory())
    agent = AgentFactory()

    def queries_for_first_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{API}?limit=50").status_code == 200
        return len(captured)

    for _ in range(2):
        TicketFactory(assignee=agent)
    few = queries_for_first_page()
    for _ in range(18):
        TicketFactory(assignee=agent)
    assert queries_for_first_page() == few
