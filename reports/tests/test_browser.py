"""A supervisor reads a report in Chromium: charts drawn, figures in tables, phone width."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.tests.factories import SupervisorFactory
from conftest import screenshot_path
from reports import rollups
from reports.models import BreachRollup, ComplianceRollup, DayTotals, VolumeRollup

PHONE = {"width": 390, "height": 844}


def _month_of_data() -> dt.date:
    today = timezone.localdate(timezone.now(), rollups.team_zone())
    for n in range(30):
        day = today - dt.timedelta(days=n)
        VolumeRollup.objects.create(
            day=day, hour=9 + n % 8, channel="email", category="payments", created=20 + n
        )
        VolumeRollup.objects.create(
            day=day, hour=14, channel="live_chat", category="order_status", created=35 - n % 5
        )
        DayTotals.objects.create(day=day, opened=55 + n - n % 5, resolved=50)
        ComplianceRollup.objects.create(
            day=day,
            target_id="live_chat_first_reply",
            channel="live_chat",
            met=90,
            met_late=n % 7,
            breached=3,
        )
        ComplianceRollup.objects.create(
            day=day, target_id="email_first_reply", channel="email", met=50 - n % 9, breached=n % 4
        )
    BreachRollup.objects.create(
        day=today, target_id="email_first_reply", ticket_id=4021, over_seconds=5 * 3600
    )
    return today


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_supervisor_reads_the_compliance_report_with_charts_and_tables(
    page, live_server, login, browser
):
    _month_of_data()
    supervisor = SupervisorFactory(username="sam.supervisor")
    login(page, supervisor)

    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Policy compliance", exact=True).click()

    page.get_by_role("heading", name="Policy compliance", level=1).wait_for()
    # Chart.js drew on the canvas (it sets the canvas size when it renders)
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.report-chart canvas')]"
        ".every(c => c.width > 0 && Chart.getChart(c) !== undefined)"
    )
    table = page.get_by_role("table", name="Promises kept")
    assert table.get_by_role("row", name="Live chat first response").is_visible()
    assert page.get_by_role("link", name="IZS-4021").is_visible()
    assert "Africa/Lagos" in page.content()
    page.screenshot(path=screenshot_path("reports-compliance-desktop"), full_page=True)

    # a range that ends before it starts: told why, nothing drawn
    page.get_by_label("From").fill("2026-05-10")
    page.get_by_label("To").fill("2026-05-01")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("alert").inner_text().startswith("The range ends (2026-05-01)")

    phone = browser.new_context(viewport=PHONE, is_mobile=True)
    phone.add_cookies(page.context.cookies())
    small = phone.new_page()
    small.goto(f"{live_server.url}/reports/volume/")
    small.get_by_role("heading", name="By hour of day (support team's time)").wait_for()
    width = small.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing forces sideways scrolling of the page
    small.screenshot(path=screenshot_path("reports-volume-phone"), full_page=True)
    phone.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_supervisor_sees_today_at_a_glance_on_desktop_and_phone(page, live_server, login, browser):
    from accounts.tests.factories import BuyerFactory
    from chat.models import ChatSession, SessionState
    from reports.models import CsatRollup
    from sla.models import SlaClock
    from tickets.choices import Channel
    from tickets.services import ticket_open

    now = timezone.now()
    buyer = BuyerFactory(username="chioma.buyer")
    for n in range(3):
        ticket_open(requester=buyer, channel=Channel.EMAIL, body=f"Where is order {n}?")
    late = SlaClock.objects.filter(target_id="email_first_reply").order_by("pk").first()
    assert late is not None
    SlaClock.objects.filter(pk=late.pk).update(
        warn_at=now - dt.timedelta(hours=5), breach_at=now - dt.timedelta(hours=1)
    )
    chat = ticket_open(requester=buyer, channel=Channel.LIVE_CHAT, body="Hello?")
    ChatSession.objects.create(
        ticket=chat,
        customer=buyer,
        state=SessionState.WAITING,
        queued_at=now - dt.timedelta(minutes=4),
    )
    today = timezone.localdate(now, rollups.team_zone())
    CsatRollup.objects.create(day=today, channel="email", category="", score=4, count=7)
    supervisor = SupervisorFactory(username="sam.supervisor")
    login(page, supervisor)

    page.get_by_role("link", name="Reports").click()
    page.get_by_role("heading", name="Today at a glance").wait_for()
    assert page.locator('[data-figure="open"]').inner_text() == "4"
    assert page.locator('[data-figure="chat-queue"]').inner_text() == "1"
    assert page.locator('[data-figure="csat"]').inner_text() == "4.00"
    row = page.get_by_role("row", name="Email response")
    assert row.get_by_role("cell").nth(2).inner_text() == "1"  # breached
    assert "Africa/Lagos" in page.content()
    page.screenshot(path=screenshot_path("reports-overview-desktop"), full_page=True)

    phone = browser.new_context(viewport=PHONE, is_mobile=True)
    phone.add_cookies(page.context.cookies())
    small = phone.new_page()
    small.goto(f"{live_server.url}/reports/")
    small.get_by_role("heading", name="Today at a glance").wait_for()
    small.screenshot(path=screenshot_path("reports-overview-phone"), full_page=True)
    width = small.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing forces sideways scrolling of the page
    phone.close()

    # Each figure leads into the detail: unassigned tickets in the console inbox.
    page.get_by_role("link", name="Unassigned").click()
    page.wait_for_url("**/console/?view=unassigned")
