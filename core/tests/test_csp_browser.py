"""The main pages in Chromium under the production Content-Security-Policy: any script,
style, image or connection the policy refuses fails the test, as does a script error.

Served by uvicorn with the real ASGI application (the chat desk's and widget's sockets),
at desktop width; screenshots go to test-artifacts/csp-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import PASSWORD, AgentFactory, BuyerFactory, SupervisorFactory
from chat.tests.conftest import _memory_layer, asgi_server, clock  # noqa: F401 - fixtures
from conftest import screenshot_path
from helpcenter.choices import ArticleKind
from helpcenter.content import content_load
from helpcenter.models import Article
from helpcenter.services import search_index_rebuild
from tickets.choices import Channel
from tickets.services import sanitise_html
from tickets.tests.factories import MessageFactory, TicketFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Reported by the page itself for every refusal, also those Chromium does not log.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


class Watched:
    """A desktop-width page that records CSP violations and script errors."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id="Africa/Lagos"
        )
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.base = base
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "CSP violation" in text:
            self.problems.append(f"{self.page.url}: {text}")

    def open(self, path: str, shot: str) -> Page:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=screenshot_path(f"csp-{shot}"), full_page=True)
        return self.page

    def sign_in(self, user) -> None:
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)
        self.context.close()


def test_main_pages_run_under_the_content_security_policy(
    browser,
    asgi_server,  # noqa: F811 - the chat tests' fixture, imported above
    clock,  # noqa: F811
):
    search_index_rebuild()
    content_load()
    buyer = BuyerFactory(username="bola.buyer")
    email = TicketFactory(channel=Channel.EMAIL, requester=buyer, subject="Late parcel")
    TicketFactory(subject="Blender refund")
    MessageFactory(
        ticket=email,
        channel=Channel.EMAIL,
        body_text="Where is it?",
        body_html=sanitise_html(
            '<p>Where is it?</p><img src="https://tracker.invalid/open.gif" alt="tracker">'
        ),
    )

    visitor = Watched(browser, asgi_server.url)
    home = visitor.open("/", "home")
    # The watch itself: a script the policy refuses is reported (then forgotten).
    home.evaluate(
        "var s = document.createElement('script'); s.textContent = 'window.x = 1';"
        "document.body.appendChild(s)"
    )
    home.wait_for_timeout(200)
    assert any("script-src" in problem for problem in visitor.problems), visitor.problems
    visitor.problems.clear()
    visitor.open("/help", "help-center")
    # An FAQ article: its page carries JSON-LD, a data block the policy does not run.
    article = Article.objects.filter(kind=ArticleKind.FAQ).first()
    assert article is not None
    faq = visitor.open(article.get_absolute_url(), "help-article")
    assert faq.locator("script[type='application/ld+json']").count() == 1
    policy = visitor.open("/support-policy", "support-policy")
    # The viewer's own time, added by the script that used to be inline.
    expect(policy.locator("[data-viewer-time]").first).to_contain_text("In your time zone")
    visitor.open("/contact", "contact")
    product = visitor.open("/demo/product/izonie-x12-pro", "demo-product")
    product.get_by_role("button", name="Chat with us").click()
    expect(product.get_by_role("dialog", name="Izonie Support chat")).to_be_visible()
    product.wait_for_load_state("networkidle")
    product.screenshot(path=screenshot_path("csp-demo-product-widget"))
    docs = visitor.open("/api/v1/docs", "api-docs")
    expect(docs.locator(".opblock").first).to_be_visible()
    docs.screenshot(path=screenshot_path("csp-api-docs"))
    visitor.assert_clean()

    customer = Watched(browser, asgi_server.url)
    customer.sign_in(buyer)
    customer.open("/contact", "contact-signed-in")
    requests = customer.open("/requests/", "portal-requests")
    expect(requests.get_by_text("Late parcel")).to_be_visible()
    customer.assert_clean()

    agent = Watched(browser, asgi_server.url)
    agent.sign_in(AgentFactory())
    inbox = agent.open("/console/", "console-inbox")
    expect(inbox.locator("table")).to_contain_text("Blender refund")
    inbox.get_by_label("Search this view").press_sequentially("parcel")  # htmx swaps the table
    expect(inbox.locator("table")).not_to_contain_text("Blender refund")
    expect(inbox.locator("table")).to_contain_text("Late parcel")
    ticket = agent.open(f"/console/tickets/{email.pk}/", "console-ticket")
    assert ticket.locator("img[alt='tracker']").get_attribute("src") is None
    ticket.get_by_text("Show the original message").click()
    ticket.get_by_role("link", name="Show remote images").click()
    ticket.wait_for_load_state()
    # Allowed for this response: the browser tries it (the host does not resolve).
    expect(ticket.locator("img[alt='tracker']")).to_have_attribute(
        "src", "https://tracker.invalid/open.gif"
    )
    ticket.screenshot(path=screenshot_path("csp-console-ticket-remote-images"), full_page=True)
    desk = agent.open("/console/chat/", "chat-desk")
    expect(desk.locator("#desk-conn")).to_have_text("Connected.")
    agent.assert_clean()

    supervisor = Watched(browser, asgi_server.url)
    supervisor.sign_in(SupervisorFactory())
    supervisor.open("/reports/", "reports")
    supervisor.open("/reports/compliance/", "report-compliance")
    supervisor.assert_clean()
