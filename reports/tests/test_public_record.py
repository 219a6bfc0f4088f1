"""The Support Policy page shows last month's record only when the policy asks for it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from policy.loader import reset_policy_cache
from reports import rollups
from reports.models import ComplianceRollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def last_month_record():
    today = timezone.localdate(timezone.now(), rollups.team_zone())
    in_last_month = today.replace(day=1) - dt.timedelta(days=3)
    ComplianceRollup.objects.create(
        day=in_last_month,
        target_id="live_chat_first_reply",
        channel="live_chat",
        met=900,
        met_late=78,
        breached=22,
    )
    # This month's clocks do not count towards last month.
    ComplianceRollup.objects.create(
        day=today, target_id="live_chat_first_reply", channel="live_chat", breached=500
    )
    return in_last_month


def test_the_record_is_off_by_default(client, last_month_record):
    page = client.get(reverse("policy:support_policy")).content.decode()
    assert "Kept in" not in page


def test_with_the_flag_each_promise_shows_how_well_it_was_kept_last_month(
    client, settings, tmp_path, last_month_record
):
    policy = settings.IZONIE_POLICY_FILE.read_text().replace(
        "show_promise_record: false", "show_promise_record: true"
    )
    (tmp_path / "policy.yaml").write_text(policy)
    settings.IZONIE_POLICY_FILE = tmp_path / "policy.yaml"
    reset_policy_cache()

    page = client.get(reverse("policy:support_policy")).content.decode()

    month = last_month_record.strftime("%B %Y")
    assert f"Kept in {month}: <strong>97.8 %</strong> of 1000 measured." in page
    # a promise with no measured conversation says so rather than showing 0 %
    assert f"Kept in {month}: nothing measured." in page
