"""Article Markdown becomes safe HTML; policy facts are read from the policy when rendered."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from helpcenter.placeholders import expand_placeholders, unknown_placeholders
from helpcenter.rendering import faq_pairs, markdown_to_text, render_markdown
from policy.loader import get_policy, reset_policy_cache


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The elements a browser would build from ``html``: tag names and attributes."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert('x')</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
        "![x](javascript:alert(1))",
        "<iframe src='https://evil.example'></iframe>",
    ],
)
def test_script_and_raw_html_never_survive(source):
    elements = _elements(render_markdown(source, policy=get_policy()))
    tags = {tag for tag, _ in elements}
    attributes = {(name, value or "") for _, attrs in elements for name, value in attrs}
    assert not tags & {"script", "iframe"}
    assert not any(name.startswith("on") for name, _ in attributes)
    assert not any(value.lower().startswith("javascript:") for _, value in attributes)


def test_javascript_links_lose_their_href():
    html = render_markdown(
        "[click](javascript:alert(1)) [ok](https://izonie.com)", policy=get_policy()
    )
    assert 'href="javascript' not in html
    assert '<a href="https://izonie.com" rel="noopener noreferrer">ok</a>' in html


def test_markdown_features_survive_sanitising():
    html = render_markdown(
        "## Steps\n\n1. **Open** your orders\n2. Tap `Return`\n\n![Box](/media/box.png)",
        policy=get_policy(),
    )
    assert "<h2>Steps</h2>" in html
    assert "<ol>" in html and "<strong>Open</strong>" in html and "<code>Return</code>" in html
    assert '<img src="/media/box.png" alt="Box">' in html


def test_placeholders_read_the_loaded_policy():
    text = expand_placeholders(
        "Email: {{ policy.response.email_first_reply }}; chat {{ policy.hours.live_chat }}; "
        "escalation {{ policy.escalation.contact_within }}.",
        get_policy(),
    )
    # The values policies/izonie.yaml publishes.
    assert text == ("Email: 24 hours; chat Monday – Saturday, 08:00 – 20:00; escalation 48 hours.")


def test_a_changed_policy_changes_the_rendered_article(settings, tmp_path: Path):
    data = yaml.safe_load(Path(settings.IZONIE_POLICY_FILE).read_text())
    data["response_targets"][1]["target"] = "12 hours"
    data["response_targets"][1]["breach"] = "12 hours"
    data["escalation"]["contact_within"] = "36 hours"
    changed = tmp_path / "policy.yaml"
    changed.write_text(yaml.safe_dump(data))
    settings.IZONIE_POLICY_FILE = changed
    reset_policy_cache()
    text = markdown_to_text(
        "We answer within {{ policy.response.email_first_reply }}; supervisors call within "
        "{{ policy.escalation.contact_within }}.",
        policy=get_policy(),
    )
    assert text == "We answer within 12 hours; supervisors call within 36 hours."


def test_unknown_placeholders_are_named_and_left_visible():
    source = "Within {{ policy.response.pigeon_post }} days"
    assert unknown_placeholders(source, get_policy()) == ["response.pigeon_post"]
    assert "{{ policy.response.pigeon_post }}" in expand_placeholders(source, get_policy())


def test_unpublished_targets_are_not_facts_articles_can_use():
    # social_first_reply is published: false in the policy file.
    assert unknown_placeholders("{{ policy.response.social_first_reply }}", get_policy()) == [
        "response.social_first_reply"
    ]


def test_faq_pairs_are_the_level_two_headings_and_what_follows():
    pairs = faq_pairs(
        "Intro line.\n\n## Who refunds me?\n\nIzonie does.\n\n## How long?\n\n- a\n- b\n",
        policy=get_policy(),
    )
    assert [pair.question for pair in pairs] == ["Who refunds me?", "How long?"]
    assert pairs[0].answer_html.strip() == "<p>Izonie does.</p>"
    assert "<li>a</li>" in pairs[1].answer_html
