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
    page.get_by_role("link", name="Policy compliance").click()

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
