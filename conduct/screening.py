"""Screening one message: the policy's word list (robust to obfuscated spellings) and
the offensive-language model (alt-profanity-check). Pure functions of the text."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from policy.schema import ConductScreening, ConductSeverity

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
    label: str
    severity: ConductSeverity
    pattern: re.Pattern[str]
    # For spaced-out letters ("f u c k"), searched in the joined letters.
    loose: re.Pattern[str] | None


@functools.lru_cache(maxsize=8)
def _compile(terms: tuple[tuple[str, str, str], ...]) -> tuple[_Compiled, ...]:
    compiled = []
    for term, severity, match in terms:
        words = normalise(term).split()
        body = r"\s+".join(_word_pattern(word) for word in words)
        if len(words) > 1:
            pattern = re.compile(rf"(?<!\S){body}(?!\S)")
        elif match == "part":
            pattern = re.compile(body)
        else:
            pattern = re.compile(rf"(?<!\S){body}{_SUFFIX}(?!\S)")
        loose = re.compile(_word_pattern("".join(words))) if len("".join(words)) >= 3 else None
        compiled.append(_Compiled(term, ConductSeverity(severity), pattern, loose))
    return tuple(compiled)


def normalise(text: str) -> str:
    """Lower case without accents, each word stripped of surrounding punctuation and of
    separators inside it, words joined by single spaces."""
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


def list_findings(text: str, *, screening: ConductScreening) -> list[Finding]:
    terms = tuple((t.term, str(t.severity), t.match) for t in screening.terms)
    normalised = normalise(text)
    runs = _spaced_runs(normalised)
    found: list[Finding] = []
    for term in _compile(terms):
        hit = term.pattern.search(normalised) or (
            term.loose is not None and any(term.loose.search(run) for run in runs)
        )
        if hit:
            found.append(Finding("list", term.label, term.severity))
    return found


@functools.lru_cache(maxsize=1)
def _model() -> Callable[[list[str]], Any]:
    # Imported on first use: loading the model takes a moment and most processes
    # (migrations, the mail fetcher) never screen anything.
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


def model_probability(text: str) -> float:
    direct = _direct_scorer()
    if direct is not None:
        return direct(text)
    return float(_model()([text])[0])


def screen_text(text: str, *, screening: ConductScreening) -> list[Finding]:
    """Everything that makes ``text`` a conduct violation; empty when it is civil."""
    if not text.strip():
        return []
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
