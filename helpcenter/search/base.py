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
    article_id: int
    title: str
    summary: str


class SearchBackend(Protocol):
    def index(self, document: IndexedArticle) -> None: ...

    def remove(self, article_id: int) -> None: ...

    def clear(self) -> None: ...

    def candidates(
        self, terms: list[str], *, locale: str, prefix_last: bool, limit: int
    ) -> list[EngineHit]:
        """Articles holding any of ``terms``, in the engine's order: title or summary
        matches first (ranked over all of them), then body-only matches."""
        ...

    def highlight(
        self, article_ids: list[int], terms: list[str], *, locale: str, prefix_last: bool
    ) -> dict[int, RawHit]:
        """Title and snippet with the matches marked, for the page of hits only."""
        ...
