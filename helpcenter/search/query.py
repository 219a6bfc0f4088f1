"""What users type, made safe for any full-text engine.

Only runs of letters and digits survive, so quotes, ``*``, ``NEAR``, ``:`` or unbalanced
parentheses can never reach FTS5 or ``to_tsquery`` as syntax; they are separators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Longest query kept; a pasted 10,000-character text is cut at a word boundary before it.
MAX_QUERY_CHARS = 200
MAX_TERMS = 12
MAX_TERM_CHARS = 40
_TERM_RE = re.compile(r"[^\W_]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


def normalise_query(raw: str | None) -> str:
    """The query as shown back to the user and stored: single-spaced, at most 200 chars."""
    text = " ".join(_CONTROL_RE.sub(" ", raw or "").split())
    if len(text) <= MAX_QUERY_CHARS:
        return text
    cut = text[: MAX_QUERY_CHARS + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut[:MAX_QUERY_CHARS]).strip()


# Left out of the engine's query when other words remain ("how to start a return" → start
# return): they are in nearly every article, so they change no result and cost time.
STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from get got how i if in is it me my no not "  # noqa: SIM905
    "of on or our so the their there this to was we what when where which who why will with "
    "you your".split()
)


def significant_terms(terms: list[str]) -> list[str]:
    kept = [term for term in terms if term not in STOP_WORDS]
    return kept or terms


def query_terms(text: str) -> list[str]:
    terms = [term.lower()[:MAX_TERM_CHARS] for term in _TERM_RE.findall(text)]
    return terms[:MAX_TERMS]


@dataclass(frozen=True)
class ParsedQuery:
    terms: list[str]
    # Whether the last term may still be half-typed ("refu" while typing "refund").
    prefix_last: bool

    @property
    def empty(self) -> bool:
        return not self.terms
