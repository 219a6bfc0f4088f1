"""The triage view in Chromium: one click files a conversation, at desktop and phone width."""

import pytest

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import screenshot_path
from tickets import services
from tickets.choices import Channel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    from triage import services as triage_services

    settings.IZONIE_TRIAGE_MODEL_DIR = tmp_path / "models"
    triage_services._LOADED.clear()


@pytest.mark.parametrize("width", [1280, 390])
def test_confirm_and_correct_with_one_click(page, login, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    first = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="Hello, good afternoon"
    )
    second = services.ticket_open(
        requester=BuyerFactory(), channel=Channel.FACEBOOK, body="Good evening, please help"
    )
    assert first.category == second.category == ""
    login(page, AgentFactory())
    page.goto(f"{live_server.url}/console/triage/")
    assert page.get_by_role("heading", name="Triage", exact=True).is_visible()
    page.screenshot(path=screenshot_path(f"triage-{width}"), full_page=True)
    guess = first.triage.predicted_category
    page.locator(f"#triage-{first.pk}").get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"{first.reference} filed under").is_visible()
    page.get_by_label(f"Category for {second.reference}", exact=True).select_option("returns")
    page.get_by_role("button", name=f"Set the chosen category for {second.reference}").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"{second.reference} filed under Returns").is_visible()
    assert page.get_by_text("Nothing waits for a category").is_visible()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.category, second.category) == (guess, "returns")
