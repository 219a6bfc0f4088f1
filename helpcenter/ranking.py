"""How Help Center search reads a query and orders what the engine found.

The engine (SQLite FTS5 or PostgreSQL full text) finds candidates that contain any word
of the query or its synonyms; this module then ranks them the same way on both engines:

1. The query is corrected as a whole: only words neither the articles nor the synonyms
   know are changed, and among close candidates one that makes a known phrase with its
   neighbours wins ("retrun my fone" → "return my fone", never "return may one").
2. Each word, or phrase from ``content/synonyms.yaml`` ("money back" → refund), becomes a
   *concept*: Snowball stems that satisfy it. Fillers (including Pidgin ones) are
   dropped; words every article uses ("phone") count for less.
3. An article scores for each concept its title (most) or summary holds, plus a little
   for its position in the engine's own ranking (body matches), its place in its section
   (the content team puts the main article first) and a popularity prior from views and
   "this answered my question" votes.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from helpcenter.search.query import STOP_WORDS, query_terms
from helpcenter.search.synonyms import Lexicon, lexicon, stem
from helpcenter.search.vocabulary import correct_terms

# Most words sent to the engine (the query's words and their synonyms).
MAX_ENGINE_TERMS = 24
TITLE_WEIGHT = 3.0
SUMMARY_WEIGHT = 1.2
WEAK_WEIGHT = 0.3
# Each distinct query stem in the title, beyond the concepts: "charged twice" over "charged".
TITLE_STEM_BONUS = 0.15
ENGINE_WEIGHT = 0.3
# The content team's order within a section puts its main article first ("How to start a
# return" before "The 7-day return window"); it settles ties between title matches.
POSITION_WEIGHT = 0.6
# Articles for sellers, when nothing in the query is a seller's word.
FOR_SELLERS_PENALTY = 1.0
VIEWS_WEIGHT = 0.3
HELPFUL_WEIGHT = 0.3
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Concept:
    words: tuple[str, ...]  # sent to the engine
    # A field satisfies the concept when it holds every stem of one alternative.
    alternatives: tuple[frozenset[str], ...]
    weight: float

    @property
    def stems(self) -> frozenset[str]:
        return frozenset().union(*self.alternatives)

    def met_by(self, field: frozenset[str]) -> bool:
        return any(alternative <= field for alternative in self.alternatives)


@dataclass(frozen=True)
class QueryPlan:
    concepts: tuple[Concept, ...]
    engine_terms: list[str]
    # The last word may be half-typed ("refu" while typing "refund").
    prefix_last: bool
    # The query as corrected, when a correction changed a word.
    corrected: str | None

    @property
    def empty(self) -> bool:
        return not self.engine_terms

    @property
    def stems(self) -> frozenset[str]:
        return frozenset().union(*(concept.stems for concept in self.concepts))

    @property
    def groups(self) -> list[list[str]]:
        """The words of each concept that counts fully: an article holding one word of
        every group is a candidate before those holding any word."""
        strong = [concept for concept in self.concepts if concept.weight >= 1] or self.concepts
        return [list(concept.words) for concept in strong]

    @property
    def prefix(self) -> str | None:
        return self.engine_terms[-1] if self.prefix_last else None

    def engine_query(
        self, completions: list[str] | None
    ) -> tuple[list[list[str]], list[str], str | None]:
        """``groups``, ``terms`` and ``prefix`` for the engine: the half-typed word as the
        known words it starts (``completions``), when given, instead of as a prefix."""
        prefix = self.prefix
        if prefix is None or completions is None:
            return self.groups, self.engine_terms, prefix

        def completed(words: list[str]) -> list[str]:
            if prefix not in words:
                return words
            return list(dict.fromkeys([*words, *completions]))

        return [completed(group) for group in self.groups], completed(self.engine_terms), None


def _content(words: tuple[str, ...], lex: Lexicon) -> tuple[str, ...]:
    return tuple(word for word in words if word not in STOP_WORDS and word not in lex.ignore)


def _concept(words: tuple[str, ...], means: tuple[tuple[str, ...], ...], lex: Lexicon) -> Concept:
    content = _content(words, lex)
    alternatives = [frozenset({stem(word)}) for word in content]
    if means:
        # A phrase ("money back") stands for its meaning, and for all its words together.
        alternatives = [frozenset(stem(word) for word in content)] if content else []
    alternatives += [frozenset(stem(w) for w in _content(alt, lex) or alt) for alt in means]
    alternatives = [alternative for alternative in alternatives if alternative]
    engine_words = [word for alt in means for word in _content(alt, lex) or alt] + list(content)
    weak = bool(alternatives) and all(alt <= lex.weak for alt in alternatives)
    return Concept(
        tuple(dict.fromkeys(engine_words)),
        tuple(dict.fromkeys(alternatives)),
        WEAK_WEIGHT if weak else 1.0,
    )


def plan_query(text: str, *, locale: str, typing: bool = True) -> QueryPlan:
    """What to search for. ``typing``: the last word may be half-typed, so a word the
    articles start with ("escal") is left as it is instead of corrected."""
    lex = lexicon()
    terms = query_terms(text)
    if not terms:
        return QueryPlan((), [], False, None)
    prefix_last = typing and len(terms[-1]) > 1
    fixed = correct_terms(
        terms,
        locale=locale,
        extra_words=lex.words,
        extra_stems=lex.stems,
        fits=lex.completes_phrase,
        prefix_last=prefix_last,
    )
    stems = [stem(word) for word in fixed]
    concepts: list[Concept] = []
    index = 0
    while index < len(fixed):
        found = lex.phrase_at(stems, index)
        length, means = found if found is not None else (1, ())
        words = tuple(fixed[index : index + length])
        index += length
        if not means and (words[0] in STOP_WORDS or words[0] in lex.ignore):
            continue
        concept = _concept(words, means, lex)
        if concept.alternatives:
            concepts.append(concept)
    if not concepts:  # only stop words ("how do i"): search for them as typed
        concepts = [Concept((word,), (frozenset({stem(word)}),), 1.0) for word in fixed]
    # The typed last word goes last, so the engine may treat it as a prefix.
    last = fixed[-1]
    engine_terms = [word for concept in concepts for word in concept.words if word != last]
    engine_terms = list(dict.fromkeys(engine_terms))[: MAX_ENGINE_TERMS - 1]
    if any(last in concept.words for concept in concepts):
        engine_terms.append(last)
    else:
        prefix_last = False
    prefix_last = prefix_last and last == terms[-1]
    corrected = None
    if fixed != terms:
        corrected = " ".join(word for word in fixed if word not in STOP_WORDS) or None
    return QueryPlan(tuple(concepts), engine_terms, prefix_last, corrected)


@dataclass(frozen=True)
class Candidate:
    article_id: int
    title: str
    summary: str
    view_count: int = 0
    helpful_yes: int = 0
    helpful_no: int = 0
    position: int = 100


# Titles and summaries come back query after query; their stems are kept for the process
# (keyed by the text itself, so an edited article is stemmed again).
@functools.lru_cache(maxsize=8192)
def _stems_of(text: str) -> frozenset[str]:
    return frozenset(stem(word.lower()) for word in _WORD_RE.findall(text))


def _matches(concept: Concept, field: frozenset[str], *, prefix: str | None) -> bool:
    if concept.met_by(field):
        return True
    return prefix is not None and any(word.startswith(prefix) for word in field)


def rank(plan: QueryPlan, candidates: list[Candidate]) -> list[int]:
    """Article ids of ``candidates`` (in the engine's order), best first."""
    if not candidates:
        return []
    query_stems = plan.stems
    most_views = max(candidate.view_count for candidate in candidates)
    last_typed = plan.prefix
    seller = lexicon().seller
    sellers_asked = bool(query_stems & seller)
    # Which concepts the typed last word may complete, worked out once, not per candidate.
    prefixes = [last_typed if last_typed in concept.words else None for concept in plan.concepts]
    scored = []
    for position, candidate in enumerate(candidates):
        title, summary = _stems_of(candidate.title), _stems_of(candidate.summary)
        score = 0.0
        for concept, prefix in zip(plan.concepts, prefixes, strict=True):
            if _matches(concept, title, prefix=prefix):
                score += TITLE_WEIGHT * concept.weight
            elif _matches(concept, summary, prefix=prefix):
                score += SUMMARY_WEIGHT * concept.weight
        score += TITLE_STEM_BONUS * len(query_stems & title)
        if not sellers_asked and title & seller:
            score -= FOR_SELLERS_PENALTY
        score += ENGINE_WEIGHT * (1 - position / len(candidates))
        score += POSITION_WEIGHT * (1 - min(candidate.position, 100) / 100)
        if most_views:
            score += VIEWS_WEIGHT * math.log1p(candidate.view_count) / math.log1p(most_views)
        votes = candidate.helpful_yes + candidate.helpful_no
        score += HELPFUL_WEIGHT * ((candidate.helpful_yes + 1) / (votes + 2) - 0.5)
        scored.append((-score, position, candidate.article_id))
    scored.sort()
    return [article_id for _, _, article_id in scored]
