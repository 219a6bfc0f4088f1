"""Typo tolerance shared by every backend: unknown words are replaced by the closest word
the published articles use ("refnd" → "refund"), found with rapidfuzz."""

from __future__ import annotations

import re
import threading

from django.db.models import Max
from rapidfuzz import fuzz, process

from helpcenter.models import SearchTerm

_WORD_RE = re.compile(r"[^\W\d_]{3,40}")
# Below this similarity (0-100) a correction is more likely wrong than helpful.
_MIN_SIMILARITY = 75

_lock = threading.Lock()
_cache: dict[str, tuple[int, frozenset[str], list[str]]] = {}


def words_of(text: str) -> set[str]:
    return {word.lower() for word in _WORD_RE.findall(text)}


def vocabulary_add(*, locale: str, text: str) -> None:
    SearchTerm.objects.bulk_create(
        [SearchTerm(locale=locale, term=word) for word in words_of(text)],
        ignore_conflicts=True,
    )


def _vocabulary(locale: str) -> tuple[frozenset[str], list[str]]:
    version = SearchTerm.objects.filter(locale=locale).aggregate(version=Max("pk"))["version"] or 0
    with _lock:
        cached = _cache.get(locale)
        if cached is None or cached[0] != version:
            terms = list(SearchTerm.objects.filter(locale=locale).values_list("term", flat=True))
            cached = (version, frozenset(terms), terms)
            _cache[locale] = cached
    return cached[1], cached[2]


def correct_terms(terms: list[str], *, locale: str) -> list[str]:
    """The terms with each unknown word replaced by its nearest known word, if one is close."""
    known, ordered = _vocabulary(locale)
    corrected = []
    for term in terms:
        if term in known or term.isdigit() or not ordered:
            corrected.append(term)
            continue
        match = process.extractOne(term, ordered, scorer=fuzz.ratio, score_cutoff=_MIN_SIMILARITY)
        corrected.append(match[0] if match else term)
    return corrected
