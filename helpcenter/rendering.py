"""Article Markdown to safe HTML, plain text for the search index, FAQ question/answer pairs.

markdown-it-py runs with raw HTML switched off (typed tags come out as text) and nh3 then
cleans the result against an allow-list, so neither a content file nor an admin edit can
put a script, an event handler or a ``javascript:`` link on a public page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from helpcenter.placeholders import expand_placeholders
from policy.schema import SupportPolicy

_ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "s", "kbd",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
}
_WHITESPACE_RE = re.compile(r"\s+")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])


def sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


def _tokens(source: str, policy: SupportPolicy) -> list[Token]:
    return _markdown.parse(expand_placeholders(source, policy))


def _render(tokens: list[Token]) -> str:
    return sanitise(_markdown.renderer.render(tokens, _markdown.options, {}))


def render_markdown(source: str, *, policy: SupportPolicy) -> str:
    """Sanitised HTML of an article body, with the policy's facts filled in."""
    return _render(_tokens(source, policy))


def html_to_text(fragment: str) -> str:
    return _WHITESPACE_RE.sub(" ", html.unescape(nh3.clean(fragment, tags=set()))).strip()


def markdown_to_text(source: str, *, policy: SupportPolicy) -> str:
    """What a reader sees, without markup: the text the search index holds."""
    return html_to_text(render_markdown(source, policy=policy))


@dataclass(frozen=True)
class QuestionAnswer:
    question: str
    answer_html: str


def faq_pairs(source: str, *, policy: SupportPolicy) -> list[QuestionAnswer]:
    """Each level-two heading of an FAQ article is a question; what follows, its answer.

    Feeds the schema.org FAQPage data, which wants exactly these pairs.
    """
    tokens = _tokens(source, policy)
    pairs: list[QuestionAnswer] = []
    question: str | None = None
    answer: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.tag == "h2":
            if question is not None:
                pairs.append(QuestionAnswer(question, _render(answer)))
            question = tokens[index + 1].content
            answer = []
            index += 3  # heading_open, inline, heading_close
            continue
        if question is not None:
            answer.append(token)
        index += 1
    if question is not None:
        pairs.append(QuestionAnswer(question, _render(answer)))
    return [pair for pair in pairs if pair.answer_html.strip()]
