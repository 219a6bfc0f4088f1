"""Customers' words for what the articles call something else, from
``helpcenter/content/synonyms.yaml`` (read once per process), stemmed with Snowball."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpcenter.search.query import STOP_WORDS, query_terms
from helpcenter.search.stemming import stem

__all__ = ["Lexicon", "lexicon", "stem"]

SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "content" / "synonyms.yaml"


@dataclass(frozen=True)
class Lexicon:
    # Stemmed phrase → what it also searches for: alternatives, each a tuple of words.
    phrases: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]
    longest: int
    weak: frozenset[str]  # stems
    seller: frozenset[str]  # stems of the words that make a query a seller's
    ignore: frozenset[str]  # words
    # Every word the file names: known to the spelling correction, never "corrected".
    words: frozenset[str]
    stems: frozenset[str]  # of those words

    def phrase_at(
        self, stems: list[str], start: int
    ) -> tuple[int, tuple[tuple[str, ...], ...]] | None:
        """The longest phrase starting at ``start``: (its length, what it means)."""
        for length in range(min(self.longest, len(stems) - start), 0, -1):
            means = self.phrases.get(tuple(stems[start : start + length]))
            if means is not None:
                return length, means
        return None

    def completes_phrase(self, words: list[str], index: int, candidate: str) -> bool:
        """Whether ``candidate`` at ``index`` is part of a phrase with its neighbours."""
        stems = [stem(word) for word in words]
        stems[index] = stem(candidate)
        for start in range(max(0, index - self.longest + 1), index + 1):
            found = self.phrase_at(stems, start)
            if found is not None and start + found[0] > index and found[0] > 1:
                return True
        return False


@functools.cache
def lexicon(path: Path = SYNONYMS_FILE) -> Lexicon:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    phrases: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}
    words: set[str] = set()
    for group in data.get("groups", []):
        alternatives = group["means"] if isinstance(group["means"], list) else [group["means"]]
        means = tuple(tuple(query_terms(str(alternative))) for alternative in alternatives)
        for alternative in means:
            words.update(alternative)
        for phrase in group["say"]:
            terms = query_terms(str(phrase))
            words.update(terms)
            key = tuple(stem(term) for term in terms)
            phrases[key] = tuple(dict.fromkeys(phrases.get(key, ()) + means))
    weak = [str(word) for word in data.get("weak", [])]
    ignore = frozenset(str(word) for word in data.get("ignore", []))
    return Lexicon(
        phrases=phrases,
        longest=max((len(key) for key in phrases), default=1),
        weak=frozenset(stem(word) for word in weak),
        seller=frozenset(stem(str(word)) for word in data.get("seller", [])),
        ignore=ignore,
        words=frozenset(words | set(weak) | ignore | STOP_WORDS),
        stems=frozenset(stem(word) for word in words | set(weak)),
    )
