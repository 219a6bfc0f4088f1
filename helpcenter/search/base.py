"""The one interface the Help Center searches through; a backend per database vendor."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Protocol

# The engines mark matches with these; the text is HTML-escaped first and the markers
# then become <mark>, so article text can never inject markup through a snippet.
MARK_START = "\x02"
MARK_END = "\x03"


def marks_to_html(text: str) -> str:
    return html.escape(text).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


@dataclass(frozen=True)
class IndexedArticle:
    article_id: int
    locale: str
    title: str
    summary: str
    body_text: str


@dataclass(frozen=True)
class RawHit:
    article_id: int
    title_html: str
    snippet_html: str


@dataclass(frozen=True)
class EngineHit:
    """A candidate with what the ranking reads of it: its words and popularity prior."""

    article_id: int
    title: str
    summary: str
    view_count: int = 0
    helpful_yes: int = 0
    helpful_no: int = 0
    position: int = 100


class SearchBackend(Protocol):
    def index(self, document: IndexedArticle) -> None: ...

    def remove(self, article_id: int) -> None: ...

    def clear(self) -> None: ...

    def candidates(
        self,
        groups: list[list[str]],
        terms: list[str],
        *,
        locale: str,
        prefix: str | None,
        limit: int,
    ) -> list[EngineHit]:
        """Up to ``limit`` published articles of ``locale``, with the counters the ranking
        reads (joined in, not asked for by a second statement), in the engine's order, in
        three tiers: title or summary holding a word of every group (ranked over all of
        them); then title or summary holding any of ``terms``; then the body. The last two
        rank a bounded window of matches, so their cost does not grow with the articles
        that mention a word. ``prefix``: a word that may be half-typed, matched as a
        prefix."""
        ...

    def highlight(
        self, article_ids: list[int], terms: list[str], *, locale: str, prefix: str | None
    ) -> dict[int, RawHit]:
        """Title and snippet with the matches marked, for the page of hits only."""
        ...
