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


class SearchBackend(Protocol):
    def index(self, document: IndexedArticle) -> None: ...

    def remove(self, article_id: int) -> None: ...

    def clear(self) -> None: ...

    def match(
        self,
        terms: list[str],
        *,
        locale: str,
        prefix_last: bool,
        any_term: bool,
        limit: int,
        offset: int,
    ) -> list[RawHit]:
        """Hits best first. ``any_term``: OR the terms instead of requiring all of them."""
        ...
