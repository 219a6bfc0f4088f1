"""The Help Center in Chromium at phone width: home → instant suggestions → search → article
→ feedback; the contact form's suggestions and "this answered my question"; no script runs
from article text or from a search query."""

from __future__ import annotations

import pytest

from accounts.tests.factories import BuyerFactory
from conftest import screenshot_path
from helpcenter import services
from helpcenter.content import content_load
from helpcenter.models import Article, Deflection
from helpcenter.tests.factories import make_article, make_section

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, timezone_id="Africa/Lagos", is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def starter_content():
    # The search index lives outside Django's model tables, so a transactional test
    # flush leaves rows behind; start from an index that matches the articles.
    services.search_index_rebuild()
    content_load()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_phone_home_search_article_and_feedback(phone, live_server, starter_content):
    page = phone
    page.goto(f"{live_server.url}/help")
    assert page.get_by_role("heading", name="How can we help?").is_visible()
    assert page.get_by_role("link", name="Returns").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    search_box = page.get_by_label("Search the Help Center")
    search_box.press_sequentially("retrun windw", delay=20)  # two typos
    suggestion = page.locator("#hc-suggestions").get_by_role("link", name="The 7-day return window")
    suggestion.wait_for()
    page.screenshot(path=screenshot_path("helpcenter-phone-suggestions"), full_page=True)

    search_box.press("Enter")
    page.wait_for_url("**/help/search?q=*")
    assert page.get_by_text("showing results for").is_visible()
    assert page.locator(".hc-results mark").first.is_visible()
    page.locator(".hc-results").get_by_role("link", name="The 7-day return window").click()

    page.wait_for_url("**/help/returns/return-window")
    assert page.get_by_role("heading", level=1).inner_text() == "The 7-day return window"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("Yes").check()
    page.get_by_label("What could be better? (optional)").fill("Clear, thanks")
    page.get_by_role("button", name="Send feedback").click()
    page.get_by_text("Your answer helps us improve this article.").wait_for()
    page.screenshot(path=screenshot_path("helpcenter-phone-article"), full_page=True)
    article = Article.objects.get(slug="return-window")
    assert (article.helpful_yes, article.view_count) == (1, 1)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_contact_form_suggests_articles_and_records_the_answer(
    phone, live_server, login, starter_content
):
    buyer = BuyerFactory()
    login(phone, buyer)
    phone.goto(f"{live_server.url}/contact")
    phone.get_by_label("How can we help?").press_sequentially("I forgot my password", delay=10)
    suggestions = phone.locator("#hc-deflection")
    suggestions.get_by_role("link", name="How to reset your password").wait_for()
    suggestions.locator("li", has_text="How to reset your password").get_by_role(
        "button", name="This answered my question"
    ).click()
    phone.get_by_text("You don't need to send a request").wait_for()
    deflection = Deflection.objects.get()
    assert (deflection.article.slug, deflection.source, deflection.user) == (
        "reset-password",
        "contact_form",
        buyer,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_script_runs_from_article_text_or_search_queries(page, live_server):
    services.search_index_rebuild()
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    make_article(
        section=make_section(slug="payments", name="Payments"),
        slug="refund-timing",
        title=f"Refund {payload}",
        summary=f"Refund {payload}",
        body=f"Refund text {payload}\n\n[link](javascript:window.__pwned=3)\n\n## Q {payload}\n\nA",
        kind="faq",
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in [
        "/help/payments/refund-timing",
        "/help/search?q=refund+%3Cscript%3Ewindow.__pwned%3D4%3C%2Fscript%3E",
        "/help/",
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__pwned") is None, path
        if path == "/help/payments/refund-timing":
            # The javascript: link stays text; no element anywhere carries an inline handler.
            assert page.locator("a[href^='javascript']").count() == 0
            assert page.locator("[onerror], [onclick]").count() == 0
            assert (
                page.locator(".hc-body").get_by_text("<script>", exact=False).count() >= 1
            )  # shown as text
    page.get_by_label("Search the Help Center").press_sequentially(
        "refund <img src=x onerror=window.__pwned=5>"
    )
    page.locator("#hc-suggestions li").first.wait_for()
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
