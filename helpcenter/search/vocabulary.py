"""Typo tolerance shared by every backend: a word neither the published articles nor the
synonyms know is replaced by the closest word that is known ("refnd" → "refund"), found
with rapidfuzz. Words the articles or synonyms use are never changed, nor are short
words ("my" is not "may"), numbers, or a last word that starts a known word (still being
typed)."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Collection

from django.db.models import Max
from rapidfuzz import fuzz, process

from helpcenter.models import SearchTerm
from helpcenter.search.stemming import stem

_WORD_RE = re.compile(r"[^\W\d_]{3,40}")
# Below this similarity (0-100) a correction is more likely wrong than helpful.
_MIN_SIMILARITY = 72
_CANDIDATES = 6

_lock = threading.Lock()
_cache: dict[str, tuple[int, frozenset[str], list[str], frozenset[str]]] = {}


def words_of(text: str) -> set[str]:
    return {word.lower() for word in _WORD_RE.findall(text)}


def vocabulary_add(*, locale: str, text: str) -> None:
    SearchTerm.objects.bulk_create(
        [SearchTerm(locale=locale, term=word) for word in words_of(text)],
        ignore_conflicts=True,
    )


def vocabulary(locale: str) -> tuple[frozenset[str], list[str], frozenset[str]]:
    """The words of the published articles: as a set, sorted (for prefix look-ups), and
    their stems."""
    version = SearchTerm.objects.filter(locale=locale).aggregate(version=Max("pk"))["version"] or 0
    with _lock:
        cached = _cache.get(locale)
        if cached is None or cached[0] != version:
            terms = sorted(SearchTerm.objects.filter(locale=locale).values_list("term", flat=True))
            cached = (version, frozenset(terms), terms, frozenset(stem(term) for term in terms))
            _cache[locale] = cached
    return cached[1], cached[2], cached[3]


def _starts_a_word(prefix: str, ordered: list[str]) -> bool:
    index = bisect.bisect_left(ordered, prefix)
    return index < len(ordered) and ordered[index].startswith(prefix)


def correct_terms(
    terms: list[str],
    *,
    locale: str,
    extra_words: Collection[str] = (),
    extra_stems: Collection[str] = (),
    fits: Callable[[list[str], int, str], bool] | None = None,
    prefix_last: bool = False,
) -> list[str]:
    """``terms`` with each unknown word replaced by its nearest known word, if one is close.

    ``extra_words`` are known besides the articles' words (synonyms, stop words) and are
    candidates too; a word whose stem is a known word's ("returning") is never changed.
    ``fits(terms, index, candidate)`` tells whether a candidate makes a
    known phrase with its neighbours: among close candidates, one that does wins, so the
    whole query is read, not each word alone.
    """
    known, ordered, known_stems = vocabulary(locale)
    choices: list[str] | None = None
    corrected = list(terms)
    for index, term in enumerate(terms):
        if term in known or term in extra_words or term.isdigit() or len(term) < 3:
            continue
        if stem(term) in known_stems or stem(term) in extra_stems:  # another form of a word
            continue
        if prefix_last and index == len(terms) - 1 and _starts_a_word(term, ordered):
            continue
        if choices is None:
            choices = sorted(set(ordered) | set(extra_words))
        if not choices:
            break
        found = process.extract(
            term, choices, scorer=fuzz.ratio, score_cutoff=_MIN_SIMILARITY, limit=_CANDIDATES
        )

        def preference(
            found_item: tuple[str, float, int], index: int = index, term: str = term
        ) -> float:
            word, similarity, _ = found_item
            bonus = 3.0 if word[0] == term[0] else 0.0
            if fits is not None and fits(corrected, index, word):
                bonus += 8.0
            return similarity + bonus

        if found:
            corrected[index] = max(found, key=preference)[0]
    return corrected
