"""The demo data reads like a real support team's weeks, not "0 s" medians."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from reports import histogram, rollups
from reports.models import TimingMetric, TimingRollup
from reports.selectors import REPORTS
from sla.models import Outcome, SlaClock
from tickets.choices import Channel
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def _median(metric: str, **where: str) -> float:
    buckets = histogram.empty()
    for row in TimingRollup.objects.filter(metric=metric, **where).values_list(
        "buckets", flat=True
    ):
        buckets = [a + b for a, b in zip(buckets, row, strict=True)]
    median = histogram.percentile(buckets, 50)
    assert median is not None, (metric, where)
    return median


def test_the_demo_data_fills_every_report_with_plausible_figures(
    client, django_capture_on_commit_callbacks
):
    """One demo seeding for every demo check here: it takes about 18 s."""
    from core.demo import seed_demo

    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()
    client.force_login(User.objects.get(username="sam.supervisor"))
    for slug in REPORTS:
        page = client.get(reverse("reports:report", args=[slug]))
        assert page.status_code == 200
        assert 'class="report-table"' in page.content.decode(), slug
    csat = client.get(reverse("reports:report", args=["csat"])).content.decode()
    assert "No ratings in this range." not in csat
    volume = client.get(reverse("reports:report", args=["volume"])).content.decode()
    assert "0 tickets opened" not in volume
    times = client.get(reverse("reports:report", args=["times"])).content.decode()
    assert ">0 s<" not in times
    agents = client.get(reverse("reports:report", args=["agents"])).content.decode()
    assert "GadgetHub" not in agents and "Ada Eze" in agents
    landing = client.get(reverse("reports:index")).content.decode()
    assert "Today at a glance" in landing
    minute, hour = 60, 3600
    email_first = _median(TimingMetric.FIRST_RESPONSE, channel=Channel.EMAIL)
    chat_first = _median(TimingMetric.FIRST_RESPONSE, channel=Channel.LIVE_CHAT)
    resolution = _median(TimingMetric.RESOLUTION)
    print(
        f"demo medians: email first {email_first / hour:.1f} h, chat first "
        f"{chat_first / minute:.1f} min, resolution {resolution / hour:.1f} h"
    )
    assert 30 * minute < email_first < 24 * hour
    assert 20 < chat_first < 10 * minute
    assert 30 * minute < resolution < 4 * 24 * hour
    # Spread over the past weeks, never in the future, and each thread still in order.
    now = timezone.now()
    days = {
        rollups.local_day(t, rollups.team_zone())
        for t in Ticket.objects.values_list("created_at", flat=True)
    }
    assert len(days) >= 10 and min(days) <= (now - dt.timedelta(days=14)).date()
    for ticket in Ticket.objects.filter(first_replied_at__isnull=False):
        assert ticket.created_at < ticket.first_replied_at <= now
        if ticket.resolved_at:
            assert ticket.first_replied_at <= ticket.resolved_at <= now
        times = list(Message.objects.filter(ticket=ticket).values_list("created_at", flat=True))
        assert times == sorted(times) and times[0] >= ticket.created_at
    # The promises were measured on the new timings: most kept, not all in no time.
    outcomes = list(SlaClock.objects.filter(outcome__gt="").values_list("outcome", flat=True))
    assert outcomes.count(Outcome.MET) > len(outcomes) / 2
    assert all(
        c.elapsed_calendar_seconds > 20
        for c in SlaClock.objects.filter(outcome__gt="", target_id="email_first_reply")
    )
