"""Typo tolerance shared by every backend: a word neither the published articles nor the
synonyms know is replaced by the closest word that is known ("refnd" → "refund"), found
with rapidfuzz. Words the articles or synonyms use are never changed, nor are short
words ("my" is not "may"), numbers, or a last word that starts a known word (still being
typed)."""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

from django.db import connection
from rapidfuzz import fuzz, process

from helpcenter.models import SearchTerm
from helpcenter.search.stemming import stem

_WORD_RE = re.compile(r"[^\W\d_]{3,40}")
# Below this similarity (0-100) a correction is more likely wrong than helpful.
_MIN_SIMILARITY = 72
_CANDIDATES = 6
# How long a process trusts its copy of the vocabulary before asking the database whether
# another process added words (one look-up of the highest id).
RECHECK_SECONDS = 10.0
# A half-typed word is sent to the engine as the known words it starts, when there are
# at most this many: an engine's prefix search merges every matching word's postings
# first (FTS5: 0.7-2 ms for "deliver*" at 10,000 articles, 0.1 ms for the words).
MAX_COMPLETIONS = 12
# Shorter prefixes have their own index on FTS5 (prefix = '2 3'): cheap as they are.
MIN_COMPLETED_PREFIX = 4

_lock = threading.Lock()


@dataclass(frozen=True)
class Vocabulary:
    """The words of the published articles of a locale, as read at ``version``."""

    version: int
    checked_at: float  # time.monotonic() when the version was last confirmed
    known: frozenset[str]
    ordered: list[str]  # sorted, for prefix look-ups
    stems: frozenset[str]
    # The correction's candidates (these words and the synonyms' words), sorted, built
    # once per set of extra words instead of once per misspelt query.
    choices: dict[frozenset[str], list[str]] = field(default_factory=dict, compare=False)

    def completions(self, prefix: str) -> list[str]:
        index = bisect.bisect_left(self.ordered, prefix)
        found = []
        for word in self.ordered[index : index + MAX_COMPLETIONS + 1]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found

    def choices_with(self, extra_words: frozenset[str]) -> list[str]:
        found = self.choices.get(extra_words)
        if found is None:
            found = sorted(self.known | extra_words)
            self.choices[extra_words] = found
        return found


_cache: dict[str, Vocabulary] = {}


def words_of(text: str) -> set[str]:
    return {word.lower() for word in _WORD_RE.findall(text)}


def vocabulary_add(*, locale: str, text: str) -> None:
    SearchTerm.objects.bulk_create(
        [SearchTerm(locale=locale, term=word) for word in words_of(text)],
        ignore_conflicts=True,
    )
    vocabulary_forget()


def vocabulary_forget() -> None:
    """Drop this process's copy; other processes see the change through the version."""
    with _lock:
        _cache.clear()


def _version() -> int:
    # The highest id of any locale: one step down the primary key, whatever the table's
    # size (filtering by locale would read every term of the locale).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {SearchTerm._meta.db_table}")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def vocabulary(locale: str, *, fresh: bool = True) -> Vocabulary:
    """The words of the published articles. ``fresh=False`` takes this process's copy
    without asking the database if it was confirmed in the last ``RECHECK_SECONDS``: the
    vocabulary only grows between rebuilds, so a word known to the copy is known to the
    database too, and this process's own writes drop the copy at once."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(locale)
    if cached is not None and not fresh and now - cached.checked_at < RECHECK_SECONDS:
        return cached
    version = _version()
    if cached is not None and cached.version == version:
        confirmed = replace(cached, checked_at=now, choices=cached.choices)
        with _lock:
            _cache[locale] = confirmed
        return confirmed
    terms = sorted(SearchTerm.objects.filter(locale=locale).values_list("term", flat=True))
    loaded = Vocabulary(
        version, now, frozenset(terms), terms, frozenset(stem(term) for term in terms)
    )
    with _lock:
        _cache[locale] = loaded
    return loaded


def completions(prefix: str, *, locale: str) -> list[str] | None:
    """The known words ``prefix`` starts, to search for instead of the prefix; None when
    the prefix is short (an index serves it) or starts too many words."""
    if len(prefix) < MIN_COMPLETED_PREFIX or not prefix.isalpha():
        return None
    found = vocabulary(locale, fresh=False).completions(prefix)
    return found if 0 < len(found) <= MAX_COMPLETIONS else None


def _starts_a_word(prefix: str, ordered: list[str]) -> bool:
    index = bisect.bisect_left(ordered, prefix)
    return index < len(ordered) and ordered[index].startswith(prefix)


def _unknown(
    vocab: Vocabulary,
    terms: list[str],
    index: int,
    extra_words: Collection[str],
    extra_stems: Collection[str],
    prefix_last: bool,
) -> bool:
    """Whether ``terms[index]`` is a word the correction should try to replace."""
    term = terms[index]
    if term in vocab.known or term in extra_words or term.isdigit() or len(term) < 3:
        return False
    term_stem = stem(term)
    if term_stem in vocab.stems or term_stem in extra_stems:  # another form of a word
        return False
    return not (prefix_last and index == len(terms) - 1 and _starts_a_word(term, vocab.ordered))


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
    vocab = vocabulary(locale, fresh=False)
    if not any(
        _unknown(vocab, terms, index, extra_words, extra_stems, prefix_last)
        for index in range(len(terms))
    ):
        return list(terms)  # every word known: no statement, nothing to correct
    # A word this process does not know: perhaps an article published since, elsewhere.
    vocab = vocabulary(locale)
    extras = extra_words if isinstance(extra_words, frozenset) else frozenset(extra_words)
    corrected = list(terms)
    for index, term in enumerate(terms):
        if not _unknown(vocab, terms, index, extra_words, extra_stems, prefix_last):
            continue
        choices = vocab.choices_with(extras)
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
