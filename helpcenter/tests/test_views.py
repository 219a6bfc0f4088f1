"""Public pages, the suggestion and deflection endpoints, feedback and the report."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory, BuyerFactory, SupervisorFactory
from helpcenter.choices import ArticleKind, ArticleStatus
from helpcenter.models import Article, ArticleFeedback, Deflection, SearchGap
from helpcenter.tests.factories import make_article, make_section

pytestmark = pytest.mark.django_db

FAQ_BODY = (
    "## Who refunds me?\n\nIzonie does, on behalf of the seller.\n\n"
    "## How fast do you answer?\n\nWithin {{ policy.response.email_first_reply }}.\n"
)


@pytest.fixture
def faq() -> Article:
    return make_article(
        section=make_section(slug="payments", name="Payments"),
        slug="refund-timing",
        title="When will I get my refund?",
        summary="Who refunds you and when the money shows.",
        body=FAQ_BODY,
        kind=ArticleKind.FAQ,
    )


class _Head(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title = ""
        self.meta: dict[str, str] = {}
        self.json_ld: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "title":
            self._in = "title"
        elif tag == "meta" and values.get("name"):
            self.meta[values["name"]] = values.get("content") or ""
        elif tag == "script" and values.get("type") == "application/ld+json":
            self._in = "ld"

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "ld":
            self.json_ld.append(data)


def _head(response) -> _Head:
    parser = _Head()
    parser.feed(response.content.decode())
    return parser


def test_home_lists_topics_and_popular_articles(client: Client, faq):
    Article.objects.filter(pk=faq.pk).update(view_count=5)
    response = client.get("/help/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/help/payments/"' in page
    popular = page.split('id="hc-popular"')[1]
    assert "When will I get my refund?" in popular


def test_home_without_articles_says_so(client: Client):
    assert "No articles are published yet." in client.get("/help/").content.decode()


def test_help_without_slash_redirects(client: Client):
    response = client.get("/help")
    assert response.status_code == 301 and response["Location"] == "/help/"


def test_article_page_has_title_description_and_faq_structured_data(client: Client, faq):
    response = client.get("/help/payments/refund-timing")
    head = _head(response)
    assert head.title.startswith("When will I get my refund? · Help Center")
    assert head.meta["description"] == "Who refunds you and when the money shows."
    data = json.loads(head.json_ld[0])
    assert data["@type"] == "FAQPage"
    assert [q["name"] for q in data["mainEntity"]] == ["Who refunds me?", "How fast do you answer?"]
    # The answer carries the policy's figure, not the placeholder.
    assert data["mainEntity"][1]["acceptedAnswer"]["text"] == "<p>Within 24 hours.</p>"


def test_howto_articles_have_no_faq_data(client: Client):
    make_article(section=make_section(slug="returns"), slug="start-a-return")
    assert _head(client.get("/help/returns/start-a-return")).json_ld == []


def test_article_page_is_public_and_cacheable_for_anonymous_visitors(client: Client, faq):
    response = client.get("/help/payments/refund-timing")
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert "csrftoken" not in response.cookies
    assert response["Last-Modified"]


def test_signed_in_pages_are_private(client: Client, faq):
    client.force_login(BuyerFactory())
    assert "private" in client.get("/help/payments/refund-timing")["Cache-Control"]


def test_views_are_counted(client: Client, faq):
    client.get("/help/payments/refund-timing")
    client.get("/help/payments/refund-timing")
    faq.refresh_from_db()
    assert faq.view_count == 2


def test_article_in_another_section_redirects_to_its_address(client: Client, faq):
    make_section(slug="returns")
    response = client.get("/help/returns/refund-timing")
    assert response.status_code == 301
    assert response["Location"] == "/help/payments/refund-timing"


@pytest.mark.parametrize("path", ["/help/payments/no-such-article", "/help/no-such-topic/"])
def test_missing_pages_are_a_friendly_404(client: Client, faq, path):
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert "We couldn&#x27;t find that page" in page or "We couldn't find that page" in page
    assert 'role="search"' in page


def test_unpublished_article_is_a_friendly_404(client: Client, faq):
    Article.objects.filter(pk=faq.pk).update(status=ArticleStatus.DRAFT)
    response = client.get("/help/payments/refund-timing")
    assert response.status_code == 404
    assert "taken down for an update" in response.content.decode()


def test_section_page_lists_its_published_articles(client: Client, faq):
    make_article(section=faq.section, slug="hidden", title="Hidden draft", status="draft")
    page = client.get("/help/payments/").content.decode()
    assert "When will I get my refund?" in page and "Hidden draft" not in page


def test_search_page_highlights_and_escapes(client: Client, faq):
    response = client.get("/help/search", {"q": "refund <script>alert(1)</script>"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<mark>refund</mark>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_zero_result_searches_are_counted_for_the_content_team(client: Client, faq):
    client.get("/help/search", {"q": "Crypto payments"})
    client.get("/help/search", {"q": "crypto   PAYMENTS"})
    client.get("/help/suggest", {"q": "crypto payments"})  # typing is not a search
    gap = SearchGap.objects.get()
    assert (gap.query, gap.count) == ("crypto payments", 2)


def test_search_returns_only_results_to_htmx(client: Client, faq):
    response = client.get("/help/search", {"q": "refund"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "<ol" in page and "<html" not in page


def test_sitemap_lists_published_articles(client: Client, faq):
    make_article(section=faq.section, slug="secret", status="draft")
    xml = client.get("/help/sitemap.xml").content.decode()
    assert "/help/payments/refund-timing</loc>" in xml
    assert "/help/payments/</loc>" in xml
    assert "secret" not in xml


def test_suggestions_json_shape(client: Client, faq):
    data = client.get("/help/api/suggestions", {"q": "refund", "source": "pre_chat"}).json()
    assert data["query"] == "refund" and data["source"] == "pre_chat"
    [result] = data["results"]
    assert result["id"] == faq.pk
    assert result["url"] == "http://testserver/help/payments/refund-timing"
    assert result["title"] == "When will I get my refund?"
    assert result["section"] == "Payments" and result["kind"] == "faq"
    assert "<mark>refund</mark>" in result["title_html"]


def test_suggestions_combine_subject_and_body_of_the_contact_form(client: Client, faq):
    response = client.get(
        "/help/api/suggestions",
        {"subject": "money back", "body": "when is my refund coming"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert "This answered my question" in page and 'value="contact_form"' in page


def test_suggestions_with_an_unknown_source_are_a_clear_400(client: Client):
    response = client.get("/help/api/suggestions", {"q": "refund", "source": "fax"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_source"


def test_deflection_is_recorded_from_json(client: Client, faq):
    response = client.post(
        "/help/api/deflections",
        json.dumps({"article_id": faq.pk, "source": "chat_offline", "query": "refund?"}),
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["recorded"] is True
    deflection = Deflection.objects.get()
    assert (deflection.article, deflection.source, deflection.query) == (
        faq,
        "chat_offline",
        "refund?",
    )


def test_deflection_from_the_contact_form_fragment(client: Client, faq):
    buyer = BuyerFactory()
    client.force_login(buyer)
    response = client.post(
        "/help/api/deflections",
        {"article_id": faq.pk, "source": "contact_form", "query": "refund"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 201
    assert "You don't need to send a request" in response.content.decode()
    assert Deflection.objects.get().user == buyer


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "invalid_json"),
        ("[1, 2]", 400, "invalid_json"),
        ('{"source": "contact_form"}', 400, "invalid_input"),
        ('{"article_id": "abc", "source": "contact_form"}', 400, "invalid_input"),
        ('{"article_id": 99999999999999999999999, "source": "contact_form"}', 400, "invalid_input"),
        ('{"article_id": 1, "source": "pigeon"}', 400, "invalid_input"),
        ('{"article_id": 987654, "source": "contact_form"}', 404, "not_found"),
    ],
)
def test_bad_deflections_are_clear_errors(client: Client, faq, body, status, code):
    response = client.post("/help/api/deflections", body, content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Deflection.objects.exists()


def test_deflection_for_an_unpublished_article_is_refused(client: Client, faq):
    Article.objects.filter(pk=faq.pk).update(status=ArticleStatus.DRAFT)
    response = client.post(
        "/help/api/deflections", {"article_id": faq.pk, "source": "contact_form"}
    )
    assert response.status_code == 404


def test_feedback_with_htmx_thanks_in_place(client: Client, faq):
    response = client.post(
        f"/help/articles/{faq.pk}/feedback",
        {"helpful": "no", "comment": "Did not say how long card refunds take."},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    faq.refresh_from_db()
    assert (faq.helpful_yes, faq.helpful_no) == (0, 1)
    assert ArticleFeedback.objects.get().comment == "Did not say how long card refunds take."


def test_feedback_without_javascript_redirects_back(client: Client, faq):
    response = client.post(f"/help/articles/{faq.pk}/feedback", {"helpful": "yes"})
    assert response.status_code == 302 and response["Location"] == faq.get_absolute_url()
    faq.refresh_from_db()
    assert faq.helpful_yes == 1


def test_feedback_without_an_answer_is_refused(client: Client, faq):
    response = client.post(
        f"/help/articles/{faq.pk}/feedback", {"helpful": "maybe"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400 and "Please choose yes or no." in response.content.decode()
    assert not ArticleFeedback.objects.exists()


def test_feedback_for_a_missing_article_is_404(client: Client):
    assert client.post("/help/articles/424242/feedback", {"helpful": "yes"}).status_code == 404


def test_report_shows_least_helpful_most_viewed_and_gaps(client: Client, faq):
    good = make_article(section=faq.section, slug="good", title="A helpful article")
    Article.objects.filter(pk=good.pk).update(helpful_yes=9, helpful_no=1, view_count=50)
    Article.objects.filter(pk=faq.pk).update(helpful_yes=1, helpful_no=3, view_count=7)
    SearchGap.objects.create(query="crypto", count=12, last_seen_at="2026-11-25T08:00:00Z")
    client.force_login(SupervisorFactory())
    page = client.get("/help/report").content.decode()
    least = page.split('id="r-least"')[1].split("</section>")[0]
    assert least.index("When will I get my refund?") < least.index("A helpful article")
    assert "75 %" in least  # 3 of 4 said no
    viewed = page.split('id="r-viewed"')[1].split("</section>")[0]
    assert viewed.index("A helpful article") < viewed.index("When will I get my refund?")
    assert re.search(r"<td>crypto</td><td>12</td>", page)


def test_report_counts_requests_avoided_by_source(client: Client, faq):
    for source in ("contact_form", "contact_form", "pre_chat"):
        client.post("/help/api/deflections", {"article_id": faq.pk, "source": source})
    client.force_login(SupervisorFactory())
    page = client.get("/help/report").content.decode()
    assert "Requests avoided (“this answered my question”): <strong>3</strong>" in page
    assert "<td>Contact form</td><td>2</td>" in page
    assert "<td>Pre-chat form</td><td>1</td>" in page


def test_report_is_for_supervisors(client: Client):
    client.force_login(AgentFactory())
    assert client.get("/help/report").status_code == 403


def test_contact_form_asks_for_suggestions_as_the_customer_types(client: Client):
    page = client.get("/contact").content.decode()
    assert 'hx-get="/help/api/suggestions"' in page
    assert "from:#id_body" in page


@pytest.mark.parametrize("query", ["x" * 10_000, "refund\x00late", '"NEAR(*', "é" * 5000])
def test_odd_queries_never_fail_a_page(client: Client, faq, query):
    assert client.get("/help/search", {"q": query}).status_code == 200
    assert client.get("/help/suggest", {"q": query}).status_code == 200
    assert client.get("/help/api/suggestions", {"q": query}).status_code == 200
    for gap in SearchGap.objects.all():
        assert len(gap.query) <= 200 and "\x00" not in gap.query


def test_feedback_comment_with_a_nul_character_is_refused(client: Client, faq):
    response = client.post(
        f"/help/articles/{faq.pk}/feedback",
        {"helpful": "no", "comment": "bad\x00"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert not ArticleFeedback.objects.exists()


def test_anonymous_counters_are_limited_per_address(client: Client, faq):
    from helpcenter import services

    for _ in range(services.COUNTER_POSTS_PER_WINDOW):
        client.post("/help/api/deflections", {"article_id": faq.pk, "source": "contact_form"})
    refused = client.post("/help/api/deflections", {"article_id": faq.pk, "source": "contact_form"})
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert client.post(f"/help/articles/{faq.pk}/feedback", {"helpful": "no"}).status_code == 429
    assert Deflection.objects.count() == services.COUNTER_POSTS_PER_WINDOW
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post(f"/help/articles/{faq.pk}/feedback", {"helpful": "yes"}).status_code == 302
