"""The public Support Policy page, rendered by Django's test client."""

import datetime as dt
import itertools
import re
import zoneinfo
from html.parser import HTMLParser

import pytest
import yaml
from django.test import Client
from django.utils import timezone

from policy.calendar import is_open
from policy.loader import get_policy, reset_policy_cache
from policy.selectors import chat_status

POLICY_FILE = "policies/izonie.yaml"
LAGOS = zoneinfo.ZoneInfo("Africa/Lagos")

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    """Visible text (scripts and styles left out) and the headings, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self._skip = 0
        self._heading: int | None = None
        self._heading_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._skip += 1
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = int(tag[1])
            self._heading_text = []

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._skip -= 1
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((self._heading, " ".join("".join(self._heading_text).split())))
            self._heading = None

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)
            if self._heading is not None:
                self._heading_text.append(data)


def get_page() -> tuple[str, str, list[tuple[int, str]]]:
    response = Client().get("/support-policy")
    assert response.status_code == 200
    html = response.content.decode()
    parser = _Page()
    parser.feed(html)
    return html, " ".join("".join(parser.text).split()), parser.headings


def izonie_data() -> dict:
    with open(POLICY_FILE) as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def clock(monkeypatch):
    """Sets the moment the page treats as now."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_now


def test_every_fact_of_the_published_policy_is_on_the_page():
    html, text, _headings = get_page()
    facts = [
        # 1. Commitment
        "frictionless marketplace",
        "quickly, openly and fairly",
        # 2. Channels
        "Live Chat",
        "Izonie website and in the Izonie mobile app",
        "Monday – Saturday, 08:00 – 20:00 (Africa/Lagos)",
        "Email Support",
        "support@izonie.com",
        "Help Center",
        "FAQs and how-to guides",
        "https://izonie.com/help",
        "Open 24/7",
        "Facebook",
        "Verified account Izonie",
        "Instagram",
        "TikTok",
        "Verified account @izonie",
        # 3. Response timelines
        "Live chat first response 2–5 minutes during business hours",
        "Email response 24 hours",
        "Dispute resolution with third-party sellers 3–5 business days",
        "Supervisor contact after an escalation 48 hours",
        "Business hours: Monday – Saturday, 08:00 – 20:00, Africa/Lagos time (WAT)",
        # 4. Categories, with their examples
        "Order Status Tracking, delays, delivery issues",
        "Payments Failed transactions, refunds, wallet balance",
        "Technical Support Account login, app bugs, website errors",
        "Returns Initiating a return, checking refund status",
        "Seller Support registered sellers Listings, payouts",
        # 5. Escalation
        "Ask for: Escalate to a Supervisor",
        "A senior team member reviews your case and contacts you within 48 hours.",
        # 6. Code of conduct
        "We believe in mutual respect.",
        "give your order number, and photos",
        "zero tolerance for abusive language or harassment towards our staff",
        "we may end the support session",
        # 7. Feedback
        "After every support interaction you can rate your experience.",
        'We ask "How did we do?" on a scale of 1 to 5',
    ]
    missing = [fact for fact in facts if fact not in text]
    assert missing == []
    assert 'href="mailto:support@izonie.com"' in html
    assert 'href="https://izonie.com/help"' in html


def test_unpublished_channels_and_promises_stay_off_the_page():
    _html, text, _headings = get_page()
    assert "Integrations" not in text  # the API channel
    assert "Social media message response" not in text
    assert "Live chat next response" not in text


def test_contact_us_area_links_to_the_contact_form_chat_and_email():
    html, text, headings = get_page()
    contact = html[html.index('id="contact"') :]
    assert 'href="/contact"' in contact
    assert 'href="mailto:support@izonie.com"' in contact
    assert 'href="https://izonie.com"' in contact  # live chat on the website
    assert (2, "Contact us") in headings
    assert "answered within 24 hours" in text


def test_one_h1_and_headings_in_order():
    html, _text, headings = get_page()
    levels = [level for level, _ in headings]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), headings
    assert '<meta name="description" content="How Izonie supports buyers and sellers:' in html
    assert 'lang="en"' in html


def test_open_status_shows_closing_time_in_team_zone(clock):
    clock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=LAGOS))  # Saturday morning
    html, text, _headings = get_page()
    assert "Open now until 20:00 WAT (Africa/Lagos)." in text
    assert '<time id="chat-time" datetime="2026-11-21T20:00:00+01:00">' in html
    assert 'data-viewer-time="chat-time" data-show="time" hidden' in html
    assert "Until then" not in text


def test_closed_status_shows_next_opening_and_the_alternatives(clock):
    clock(dt.datetime(2026, 11, 21, 19, 30, tzinfo=dt.UTC))  # Saturday 20:30 in Lagos
    html, text, _headings = get_page()
    assert "Closed now. Opens Monday 23 November at 08:00 WAT (Africa/Lagos)." in text
    assert '<time id="chat-time" datetime="2026-11-23T08:00:00+01:00">' in html
    assert "Until then, write to support@izonie.com or send us a request." in text


def test_closed_for_a_public_holiday(clock):
    clock(dt.datetime(2026, 12, 25, 12, 0, tzinfo=LAGOS))
    _html, text, _headings = get_page()
    assert "Closed now for Christmas Day. Opens Tuesday 29 December at 08:00 WAT" in text


def test_live_status_agrees_with_the_calendar_on_the_real_clock():
    policy = get_policy()
    hours = policy.hours_for("live_chat")
    for _attempt in range(3):
        before = timezone.now()
        html, text, _headings = get_page()
        after = timezone.now()
        if is_open(policy.calendar, hours, before) == is_open(policy.calendar, hours, after):
            break
    else:  # pragma: no cover - three boundary crossings in a row
        pytest.fail("chat kept opening or closing while the page rendered")
    status = chat_status(policy, before)
    if status.open_now:
        assert "Open now until" in text
        assert status.closes_at is not None
        moment = status.closes_at
    else:
        assert "Closed now" in text
        assert status.next_open_at is not None
        moment = status.next_open_at
    assert f'datetime="{moment.astimezone(LAGOS).isoformat()}"' in html


def test_the_page_is_rendered_from_the_policy_file(settings, tmp_path, clock):
    data = izonie_data()
    data["organisation"]["name"] = "Kiosko"
    data["calendar"]["time_zone"] = "Europe/Berlin"
    data["calendar"]["holidays"]["country"] = "DE"
    data["calendar"]["weekly_hours"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:30"}
    ]
    data["channels"]["email"]["address"] = "help@kiosko.test"
    data["channels"]["live_chat"]["hours"] = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:30"}
    ]
    data["channels"]["tiktok"]["published"] = False
    data["response_targets"][0]["target"] = "1 minute"
    data["response_targets"][0]["breach"] = "3 minutes"
    data["categories"][0]["name"] = "Where is my parcel"
    data["escalation"]["request_label"] = "Call the manager"
    data["escalation"]["steps"][0] = 'Ask the agent to "Call the manager".'
    path = tmp_path / "kiosko.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    settings.IZONIE_POLICY_FILE = path
    reset_policy_cache()
    clock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC))  # a Saturday: closed in Kiosko

    html, text, headings = get_page()

    assert headings[0] == (1, "Kiosko Customer Support Policy")
    for new in [
        "help@kiosko.test",
        'href="mailto:help@kiosko.test"',
        "Monday – Friday, 09:00 – 17:30 (Europe/Berlin)",
        "Business hours: Monday – Friday, 09:00 – 17:30, Europe/Berlin time (CET)",
        "1–3 minutes",
        "Where is my parcel",
        "Call the manager",
        "Closed now. Opens Monday 23 November at 09:00 CET (Europe/Berlin).",
    ]:
        assert new in text or new in html, new
    for old in [
        "support@izonie.com",
        "Monday – Saturday",
        "Africa/Lagos",
        "WAT",
        "TikTok",
        "2–5 minutes",
        "Order Status",
        "Escalate to a Supervisor",
    ]:
        assert old not in html, old


def test_a_policy_without_published_live_chat_has_no_status_panel(settings, tmp_path):
    data = izonie_data()
    data["channels"]["live_chat"]["published"] = False
    path = tmp_path / "no-chat.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    settings.IZONIE_POLICY_FILE = path
    reset_policy_cache()
    html, text, _headings = get_page()
    assert "right now" not in text
    assert "Live Chat" not in text
    assert 'href="/contact"' in html
