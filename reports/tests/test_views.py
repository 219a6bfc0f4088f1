"""Report pages and exports: who may see them, what ranges they accept, safe CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from reports import rollups
from reports.models import AgentRollup, ComplianceRollup, DayTotals, VolumeRollup
from reports.selectors import REPORTS
from tickets.choices import Channel
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db

ALL_PAGES = [reverse("reports:index")] + [
    reverse(name, args=[slug]) for slug in REPORTS for name in ("reports:report", "reports:export")
]


def _csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("path", ALL_PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("path", ALL_PAGES)
def test_agents_and_customers_are_refused(client, agent, buyer, path):
    for user in (agent, buyer):
        client.force_login(user)
        assert client.get(path).status_code == 403


@pytest.mark.parametrize("slug", list(REPORTS))
def test_supervisors_and_admins_see_every_report(client, supervisor, admin_user, buyer, slug):
    ticket_open(requester=buyer, channel=Channel.EMAIL, body="Where is my order?")
    rollups.refresh_dirty()
    for user in (supervisor, admin_user):
        client.force_login(user)
        response = client.get(reverse("reports:report", args=[slug]))
        assert response.status_code == 200
        assert "Africa/Lagos" in response.content.decode()


def test_the_console_nav_links_reports_for_supervisors_only(client, supervisor, agent):
    client.force_login(supervisor)
    assert reverse("reports:index") in client.get(reverse("console:inbox")).content.decode()
    client.force_login(agent)
    assert reverse("reports:index") not in client.get(reverse("console:inbox")).content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-05-10", "to": "2026-05-01"}, "ends (2026-05-01) before it starts"),
        ({"from": "2019-01-01", "to": "2026-01-01"}, "at most 5 years"),
        ({"from": "yesterday", "to": "2026-01-01"}, "is not a date for “from”"),
        ({"from": "2026-02-30"}, "is not a date for “from”"),
        ({"to": "2026-13-01"}, "is not a date for “to”"),
        ({"from": "=1+1"}, "is not a date"),
    ],
)
def test_absurd_ranges_are_refused_with_a_clear_message(client, supervisor, query, message):
    client.force_login(supervisor)
    page = client.get(reverse("reports:report", args=["volume"]), query)
    assert page.status_code == 400
    assert message in page.content.decode()
    export = client.get(reverse("reports:export", args=["volume"]), query)
    assert export.status_code == 400
    assert message in export.content.decode()


def test_range_shown_and_counted_in_the_support_teams_days(client, supervisor):
    VolumeRollup.objects.create(day=dt.date(2026, 3, 2), hour=0, channel="email", created=7)
    VolumeRollup.objects.create(day=dt.date(2026, 3, 3), hour=0, channel="email", created=100)
    DayTotals.objects.create(day=dt.date(2026, 3, 2), opened=7)
    DayTotals.objects.create(day=dt.date(2026, 3, 3), opened=100)
    client.force_login(supervisor)
    page = client.get(
        reverse("reports:report", args=["volume"]), {"from": "2026-03-01", "to": "2026-03-02"}
    ).content.decode()
    assert "7 tickets opened" in page
    rows = _csv(
        client.get(
            reverse("reports:export", args=["volume"]), {"from": "2026-03-01", "to": "2026-03-02"}
        )
    )
    assert rows == [
        ["day", "hour", "channel", "category", "tickets_opened"],
        ["2026-03-02", "0", "email", "", "7"],
    ]


def test_exported_cells_that_look_like_formulas_are_neutralised(client, supervisor, agent):
    day = dt.date(2026, 4, 1)
    for name in ('=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        agent.display_name = name
        agent.save()
        AgentRollup.objects.all().delete()
        AgentRollup.objects.create(day=day, agent_id=agent.pk, replies=3)
        client.force_login(supervisor)
        rows = _csv(
            client.get(
                reverse("reports:export", args=["agents"]),
                {"from": "2026-04-01", "to": "2026-04-01"},
            )
        )
        assert rows[1][2] == "'" + name
    agent.display_name = "Ada Agent"
    agent.save()
    rows = _csv(
        client.get(
            reverse("reports:export", args=["agents"]), {"from": "2026-04-01", "to": "2026-04-01"}
        )
    )
    assert rows[1][1:4] == [str(agent.pk), "Ada Agent", "3"]


def test_a_five_year_export_is_streamed_row_by_row(client, supervisor):
    first = dt.date(2021, 6, 1)
    days = [first + dt.timedelta(days=n) for n in range(5 * 365)]
    VolumeRollup.objects.bulk_create(
        VolumeRollup(day=day, hour=hour, channel=channel, category="payments", created=1)
        for day in days
        for hour in (9, 15)
        for channel in ("email", "live_chat", "facebook")
    )
    client.force_login(supervisor)
    response = client.get(
        reverse("reports:export", args=["volume"]),
        {"from": days[0].isoformat(), "to": days[-1].isoformat()},
    )
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv"
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"day,hour,channel,category,tickets_opened\r\n"  # one line at a time
    assert next(chunks).startswith(b"2021-06-01,9,email,payments,1")
    rest = sum(1 for _ in chunks)
    assert rest + 1 == len(days) * 6


def test_compliance_shows_share_kept_and_links_the_worst_breaches(client, supervisor, buyer):
    ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body="Still waiting")
    day = dt.date(2026, 5, 4)
    ComplianceRollup.objects.create(
        day=day, target_id="email_first_reply", channel="email", met=97, met_late=0, breached=3
    )
    from reports.models import BreachRollup

    BreachRollup.objects.create(
        day=day, target_id="email_first_reply", ticket_id=ticket.pk, over_seconds=7200
    )
    client.force_login(supervisor)
    page = client.get(
        reverse("reports:report", args=["compliance"]), {"from": "2026-05-01", "to": "2026-05-31"}
    ).content.decode()
    assert "97.0 %" in page
    assert f'href="{reverse("console:ticket", args=[ticket.pk])}"' in page
    assert "2.0 h" in page


def test_times_report_shows_median_and_p90_from_the_rollups(client, supervisor, buyer):
    import re

    from django.utils import timezone

    from tickets.models import Ticket

    now = timezone.now()
    minutes = [4, 6, 8, 10, 12, 14, 16, 18, 20, 200]
    for n, waited in enumerate(minutes):
        ticket = ticket_open(requester=buyer, channel=Channel.EMAIL, body=f"Question {n}")
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=now - dt.timedelta(minutes=waited), first_replied_at=now
        )
    today = timezone.localdate(now, rollups.team_zone())
    rollups.rebuild_days(first=today - dt.timedelta(days=1), last=today)
    client.force_login(supervisor)

    page = client.get(reverse("reports:report", args=["times"])).content.decode()

    section = page.split('id="s-first_response-channel"')[1].split("</table>")[0]
    row = re.search(
        r"<th scope=\"row\">Email</th><td>10</td><td>([\d.]+) min</td><td>([\d.]+)", section
    )
    assert row is not None, section
    median, p90 = float(row.group(1)), float(row.group(2))
    assert median == pytest.approx(12, rel=0.08)  # the 5th of 10 waits
    assert p90 == pytest.approx(20, rel=0.08)  # the 9th of 10 waits
