"""Screening one message: the policy's word list (robust to obfuscated spellings) and
the offensive-language model (alt-profanity-check). Pure functions of the text.

Customer text is untrusted: the word list runs on RE2 (google-re2), whose matching time
is linear in the text whatever the pattern, as one set of patterns in one pass. The
obfuscation-tolerant patterns ("every letter after the first may be a symbol, each
repeated") backtracked cubically on Python's ``re``: 2,000 characters of ``aaa…sss…``
took 14 s. Nothing here takes a lock; callers screen before they open a transaction.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from policy.schema import ConductScreening, ConductSeverity

logger = logging.getLogger(__name__)

# Characters people put in place of letters. "1" and "|" stand for both i and l.
_LOOKALIKES = {
    "a": "a@4",
    "b": "b8",
    "c": "c(",
    "e": "e3",
    "g": "g9",
    "i": "i1!|",
    "l": "l1|",
    "o": "o0",
    "s": "s$5z",
    "t": "t7+",
    "u": "uv",
}
# Symbols that stand for any letter after the first ("f*ck", "f@#king").
_WILDCARDS = re.escape("*#%@")
# Punctuation people put between letters ("f.u.c.k", "s-h-i-t"); removed inside words.
_SEPARATORS = re.compile(r"[.\-_~'\"^,:;/\\=]")
# Punctuation around a word that is not part of it ("idiot!", "(moron)").
_LEADING = "([{\"'<"
_TRAILING = ".,;:!?)]}\"'>"
# Endings a whole-word term may carry: "bastards", "retarded".
_SUFFIX = r"(?:s|es|ed|ing|er|ers)?"
# Longest text screened: the longest message any channel accepts (an email body).
MAX_SCREENED_CHARS = 50_000
# RE2 falls back from its DFA to a slower (still linear) engine when the DFA outgrows
# this memory; 64 MB keeps the whole term list on the DFA.
_RE2_MAX_MEM = 64 << 20


@dataclass(frozen=True)
class Finding:
    source: str  # "list" or "model"
    label: str
    severity: ConductSeverity
    score: float | None = None

    def as_data(self) -> dict[str, object]:
        return {
            "source": self.source,
            "label": self.label,
            "severity": str(self.severity),
            "score": None if self.score is None else round(self.score, 4),
        }


def _letter(char: str, *, first: bool) -> str:
    """One letter of a term: its look-alikes, repeated ("fuuuck"); after the first
    letter a symbol may stand in for it ("f*ck", "f**k", "f@#k")."""
    options = re.escape(_LOOKALIKES.get(char, char))
    return f"[{options}]+" if first else rf"(?:[{options}]|[{_WILDCARDS}])+"


def _word_pattern(word: str) -> str:
    return "".join(_letter(char, first=index == 0) for index, char in enumerate(word))


@dataclass(frozen=True)
class _Compiled:
    """The policy's terms as two RE2 sets searched once each: ``exact`` over the
    normalised text, ``loose`` over its spaced-out letter runs ("f u c k" → "fuck")
    joined by spaces (no loose pattern matches a space, so a match stays inside a run).
    A set reports every term that matches, as one search per term did."""

    labels: tuple[tuple[str, ConductSeverity], ...]
    exact: Any  # re2.Set
    loose: Any  # re2.Set, or None when no term is long enough to be spelt out
    loose_terms: tuple[int, ...]  # term index of each loose pattern


def _set(patterns: list[str]) -> Any:
    options = re2.Options()
    options.max_mem = _RE2_MAX_MEM
    found = re2.Set.SearchSet(options)
    for pattern in patterns:
        if found.Add(pattern) < 0:
            raise ValueError(f"conduct term pattern rejected by RE2: {pattern!r}")
    found.Compile()
    return found


@functools.lru_cache(maxsize=8)
def _compile(terms: tuple[tuple[str, str, str], ...]) -> _Compiled:
    # RE2 has no lookaround: a word boundary in the normalised text (words joined by
    # single spaces) is the start, the end or a space, matched instead of looked at.
    exact: list[str] = []
    loose: list[str] = []
    loose_terms: list[int] = []
    labels = []
    for index, (term, severity, match) in enumerate(terms):
        words = normalise(term).split()
        body = " ".join(_word_pattern(word) for word in words)
        if len(words) > 1:
            exact.append(rf"(?:^| ){body}(?: |$)")
        elif match == "part":
            exact.append(body)
        else:
            exact.append(rf"(?:^| ){body}{_SUFFIX}(?: |$)")
        if len("".join(words)) >= 3:
            loose.append(_word_pattern("".join(words)))
            loose_terms.append(index)
        labels.append((term, ConductSeverity(severity)))
    return _Compiled(
        labels=tuple(labels),
        exact=_set(exact),
        loose=_set(loose) if loose else None,
        loose_terms=tuple(loose_terms),
    )


def normalise(text: str) -> str:
    """Lower case without accents, each word stripped of surrounding punctuation and of
    separators inside it, words joined by single spaces."""
    if text.isascii():  # nothing to decompose: skips a Python step per character
        plain = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        plain = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    words = []
    for raw in plain.split():
        word = _SEPARATORS.sub("", raw.lstrip(_LEADING).rstrip(_TRAILING))
        if word:
            words.append(word)
    return " ".join(words)


def _spaced_runs(normalised: str) -> list[str]:
    """Runs of three or more single characters ("f u c k" → "fuck")."""
    runs: list[str] = []
    current: list[str] = []
    for word in [*normalised.split(), "  "]:
        if len(word) == 1:
            current.append(word)
            continue
        if len(current) >= 3:
            runs.append("".join(current))
        current = []
    return runs


@functools.lru_cache(maxsize=8)
def _phrases_by_first_word(phrases: tuple[str, ...]) -> dict[str, tuple[list[str], ...]]:
    """The policy's phrases, normalised and split into words, by their first word."""
    table: dict[str, list[list[str]]] = {}
    for phrase in phrases:
        wanted = normalise(phrase).split()
        if wanted:
            table.setdefault(wanted[0], []).append(wanted)
    return {first: tuple(wanted) for first, wanted in table.items()}


def _without_phrases(normalised: str, phrases: list[str]) -> str:
    """``normalised`` without the whole-word occurrences of ``phrases``. One pass over the
    words: only a word that starts some phrase is compared with those phrases (a pass per
    phrase cost 160 ms on 25,000 one-letter words with the policy's 26 phrases)."""
    if not phrases:
        return normalised
    by_first = _phrases_by_first_word(tuple(phrases))
    words = normalised.split()
    keep: list[bool] | None = None
    for index, word in enumerate(words):
        candidates = by_first.get(word)
        if candidates is None:
            continue
        for wanted in candidates:
            width = len(wanted)
            if words[index : index + width] == wanted:
                if keep is None:
                    keep = [True] * len(words)
                keep[index : index + width] = [False] * width
    if keep is None:
        return normalised
    return " ".join(word for word, kept in zip(words, keep, strict=True) if kept)


# The compiled terms of the screening settings in use, by the settings' identity (they
# are frozen): rebuilding the tuple of the policy's 88 terms to find it in ``_compile``'s
# cache cost about as much as searching a short message, on every message of every
# channel. The settings are held, so their id is not reused while cached.
_COMPILED_FOR: dict[int, tuple[ConductScreening, _Compiled | None]] = {}


def _compiled_for(screening: ConductScreening) -> _Compiled | None:
    """The settings' terms compiled, or None when there are none."""
    cached = _COMPILED_FOR.get(id(screening))
    if cached is not None and cached[0] is screening:
        return cached[1]
    terms = tuple((t.term, str(t.severity), t.match) for t in screening.terms)
    compiled = _compile(terms) if terms else None
    if len(_COMPILED_FOR) > 8:
        _COMPILED_FOR.clear()
    _COMPILED_FOR[id(screening)] = (screening, compiled)
    return compiled


def list_findings(text: str, *, screening: ConductScreening) -> list[Finding]:
    compiled = _compiled_for(screening)
    if compiled is None:
        return []
    normalised = _without_phrases(normalise(text[:MAX_SCREENED_CHARS]), screening.not_abuse)
    hits = set(compiled.exact.Match(normalised) or ())
    runs = _spaced_runs(normalised)
    if runs and compiled.loose is not None:
        hits.update(compiled.loose_terms[i] for i in compiled.loose.Match(" ".join(runs)) or ())
    return [
        Finding("list", label, severity)
        for index, (label, severity) in enumerate(compiled.labels)
        if index in hits
    ]


@functools.lru_cache(maxsize=1)
def _model() -> Callable[[list[str]], Any]:
    # Imported on first use (or while a server starts, ``model_preload``): loading the
    # model takes a moment, and short commands and most tests never screen anything.
    from profanity_check import predict_prob

    return predict_prob


@functools.cache
def _direct_scorer() -> Callable[[str], float] | None:
    """The same probability as ``profanity_check.predict_prob`` for one text, computed from
    the model's numbers instead of through scikit-learn, whose per-call input validation
    and sparse-matrix work cost about 1.7 ms per message against 0.03 ms here (every
    inbound message of every channel is screened). The library's model is a calibrated
    linear SVM over TF-IDF features: the mean over its calibrated folds of the sigmoid of
    each fold's decision value. ``None`` (and the library's own call) if a future release
    shapes the model otherwise.
    """
    import numpy as np
    from profanity_check import profanity_check as library

    model, vectorizer = getattr(library, "model", None), getattr(library, "vectorizer", None)
    folds = getattr(model, "calibrated_classifiers_", None)
    if vectorizer is None or not folds:
        return None
    try:
        plain_tfidf = (
            vectorizer.norm == "l2" and not vectorizer.sublinear_tf and not vectorizer.binary
        )
        analyse = vectorizer.build_analyzer()
        vocabulary, idf = vectorizer.vocabulary_, vectorizer.idf_
        # One column per fold: the linear SVM's weights, intercept and sigmoid calibration.
        weights = np.vstack([fold.estimator.coef_[0] for fold in folds]).T
        intercepts = np.array([fold.estimator.intercept_[0] for fold in folds])
        slopes = np.array([fold.calibrators[0].a_ for fold in folds])
        offsets = np.array([fold.calibrators[0].b_ for fold in folds])
        single = all(len(fold.calibrators) == 1 for fold in folds)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    if not plain_tfidf or not single or weights.shape[0] != len(idf):
        return None

    def score(text: str) -> float:
        counts = Counter(vocabulary[t] for t in analyse(text) if t in vocabulary)
        decision = intercepts
        if counts:
            columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tfidf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            tfidf *= idf[columns]
            decision = (tfidf @ weights[columns]) / math.sqrt(float(tfidf @ tfidf)) + intercepts
        calibrated = 1.0 / (1.0 + np.exp(slopes * decision + offsets))
        return min(1.0, max(0.0, float(calibrated.mean())))

    return score


def model_preload() -> None:
    """Load the offensive-language model now: ``core.startup`` calls this while a web
    process, worker or mail command starts. Loaded on the first message instead, it
    took seconds of a busy machine's time (scikit-learn, the model's unpickling) while
    holding the import lock, and every chat database thread with a message to screen
    queued behind it: the first chat messages after a start waited 2 s and more at
    ``bench.day --agents 200``. A failure here only defers the load to that message."""
    try:
        model_probability("Hello, where is my order?")
    except Exception:
        logger.warning("Conduct screening model not loaded at start-up", exc_info=True)


def model_probability(text: str) -> float:
    direct = _direct_scorer()
    if direct is not None:
        return direct(text)
    return float(_model()([text])[0])


# Words before a misspelling that make it the insult it looks like ("you hoe").
_INSULT_BEFORE = frozenset(
    [
        "you",
        "u",
        "ur",
        "your",
        "yu",
        "a",
        "dirty",
        "stupid",
        "cheap",
        "old",
        "big",
        "like",
        "that",
        "this",
        "dis",
        "una",
    ]
)


# A request ("can you shiit my pickup"): a word of _ASKING, "you", the misspelling, then a
# word of _DETERMINERS reads as the verb it stands for.
_ASKING = frozenset(["can", "could", "will", "would", "please", "pls", "kindly", "abeg"])
_DETERMINERS = frozenset(["my", "the", "our", "your", "his", "her", "their", "this", "that"])


def read_as_meant(text: str, *, screening: ConductScreening) -> str:
    """``text`` with the policy's everyday misspellings read as meant ("hoe can i get my
    refund" → "how can i get …") where the next word shows the meaning, so neither the
    list nor the model takes a typo for abuse. One pass over the words."""
    if not screening.everyday_words:
        return text
    meanings = {
        word.typo: (word.means, frozenset(word.before)) for word in screening.everyday_words
    }
    lowered = text.lower()
    if not any(typo in lowered for typo in meanings):  # the usual case: a scan in C per typo
        return text
    words = text.split()
    plain = [word.strip(_LEADING + _TRAILING).lower() for word in words]
    changed = False
    for index, word in enumerate(plain):
        meaning = meanings.get(word)
        if meaning is None or index + 1 >= len(plain):
            continue
        means, before = meaning
        # "you hoe" is an insult, but "can you shiit my pickup" is a request.
        asked = index >= 2 and plain[index - 2] in _ASKING and plain[index + 1] in _DETERMINERS
        if plain[index + 1] in before and (
            index == 0 or plain[index - 1] not in _INSULT_BEFORE or asked
        ):
            words[index] = means
            changed = True
    return " ".join(words) if changed else text


def screen_text(text: str, *, screening: ConductScreening) -> list[Finding]:
    """Everything that makes ``text`` a conduct violation; empty when it is civil."""
    text = text[:MAX_SCREENED_CHARS]
    if not text.strip():
        return []
    text = read_as_meant(text, screening=screening)
    findings = list_findings(text, screening=screening)
    probability = model_probability(text)
    if probability >= screening.model_threshold:
        findings.append(
            Finding(
                "model",
                "offensive language (model)",
                screening.model_severity,
                score=probability,
            )
        )
    return findings


def worst(findings: list[Finding]) -> ConductSeverity:
    return max((finding.severity for finding in findings), key=lambda severity: severity.rank)
