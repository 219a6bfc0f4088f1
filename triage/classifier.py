"""The text model: training, the held-out split, scoring, and the versioned model files.

Prediction combines the policy's rules with a scikit-learn pipeline (TF-IDF of words and
of character n-grams, which copes with misspellings such as "wer is my oda", feeding a
logistic regression). Nothing here touches tickets; ``triage.services`` does.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline

from policy.schema import SupportPolicy
from triage.rules import rule_scores

STARTER_EXAMPLES = Path(__file__).resolve().parent / "data" / "starter_examples.yaml"
# The model reads the start of a message and the rules a shorter start: the rest of a
# 100 KB email adds cost, not meaning (what a customer wants comes first, even in email).
MAX_CHARS = 2000
RULES_CHARS = 1000
# One example in five is held out, chosen by a hash of its text, so an example stays on the
# same side of the split across retrains and a model is never judged on what it learnt from.
HOLDOUT_EVERY = 5


@dataclass(frozen=True)
class Example:
    text: str
    category: str


@dataclass(frozen=True)
class Prediction:
    best: str  # the most likely category key, "" when there is nothing to go on
    confidence: float
    scores: dict[str, float]
    used_model: bool
    used_rules: bool


class ModelUnavailable(Exception):
    """The model file is missing, damaged or not the one recorded."""


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    return re.sub(r"\s+", " ", text).strip()


def has_words(text: str) -> bool:
    """Whether there is any letter or digit to classify (emoji-only messages have none)."""
    return any(ch.isalnum() for ch in text)


def starter_examples(*, path: Path = STARTER_EXAMPLES) -> list[Example]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Example(text=text, category=key) for key, texts in data.items() for text in texts]


def is_held_out(text: str) -> bool:
    return zlib.crc32(normalise(text).encode()) % HOLDOUT_EVERY == 0


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not is_held_out(e.text)]
    holdout = [e for e in examples if is_held_out(e.text)]
    return train, holdout


_WORDS = TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()
_CHARS = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()


def words_and_characters(text: str) -> list[str]:
    """Word 1-2-grams and character 2-5-grams (within words) as one feature stream: the
    characters carry misspellings ("wer is my oda"), the words carry phrases. One
    vectoriser instead of two halves the per-message cost. Module-level, so the pickled
    model refers to it by name."""
    return [f"w:{gram}" for gram in _WORDS(text)] + _CHARS(text)


def build_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("features", TfidfVectorizer(analyzer=words_and_characters, sublinear_tf=True)),
            ("model", LogisticRegression(C=20, max_iter=3000)),
        ]
    )


def fit(examples: Sequence[Example]) -> Pipeline:
    return _fit(tuple(examples))


@functools.lru_cache(maxsize=4)
def _fit(examples: tuple[Example, ...]) -> Pipeline:
    # Fitting is deterministic, so the same examples give the same model: a process that
    # retrains on unchanged data (every test database starts empty) reuses the last fit.
    pipeline = build_pipeline()
    pipeline.fit([normalise(e.text) for e in examples], [e.category for e in examples])
    return pipeline


def predict(*, policy: SupportPolicy, pipeline: Pipeline | None, text: str) -> Prediction:
    """Rules and model combined: the model's probabilities, moved towards the categories
    whose rules match by the policy's ``rules_weight``. Either part may be missing."""
    cleaned = normalise(text)
    if not has_words(cleaned):
        return Prediction(best="", confidence=0.0, scores={}, used_model=False, used_rules=False)
    known = set(policy.category_keys)
    rules = rule_scores(policy=policy, text=cleaned[:RULES_CHARS])
    model_scores: dict[str, float] = {}
    if pipeline is not None:
        probabilities = _probabilities(pipeline, cleaned)
        model_scores = {
            str(key): float(p)
            for key, p in zip(pipeline.classes_, probabilities, strict=True)
            if key in known
        }
    if model_scores and rules:
        weight = policy.triage.rules_weight
        scores = {
            key: (1 - weight) * model_scores.get(key, 0.0) + weight * rules.get(key, 0.0)
            for key in known
        }
    else:
        scores = dict(model_scores or rules)
    if not scores:
        return Prediction(best="", confidence=0.0, scores={}, used_model=False, used_rules=False)
    best = max(scores, key=lambda key: scores[key])
    return Prediction(
        best=best,
        confidence=round(scores[best], 4),
        scores=scores,
        used_model=bool(model_scores),
        used_rules=bool(rules),
    )


def _probabilities(pipeline: Pipeline, text: str) -> Any:
    """``pipeline.predict_proba([text])[0]``, computed directly from the coefficients: the
    same softmax, without scikit-learn's per-call input validation, which costs more than
    the arithmetic for one message."""
    features = pipeline.named_steps["features"].transform([text])
    model: LogisticRegression = pipeline.named_steps["model"]
    scores = np.asarray(features @ model.coef_.T).ravel() + model.intercept_
    if scores.shape[0] == 1:  # two classes: one column of scores
        scores = np.array([-scores[0], scores[0]])
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


@dataclass
class Evaluation:
    labels: list[str]
    size: int
    accuracy: float
    macro_f1: float
    precision: dict[str, float] = field(default_factory=dict)
    recall: dict[str, float] = field(default_factory=dict)
    f1: dict[str, float] = field(default_factory=dict)
    support: dict[str, int] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    # Share of held-out messages at or above the confidence threshold, and how many of
    # those were right: what the threshold trades.
    coverage: float = 0.0
    accuracy_when_confident: float = 0.0


def evaluate(
    *, policy: SupportPolicy, pipeline: Pipeline | None, examples: Sequence[Example]
) -> Evaluation:
    labels = [key for key in policy.category_keys if any(e.category == key for e in examples)]
    truth = [e.category for e in examples]
    predictions = [predict(policy=policy, pipeline=pipeline, text=e.text) for e in examples]
    guessed = [p.best or "(none)" for p in predictions]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guessed, labels=labels, zero_division=0
    )
    threshold = policy.triage.confidence_threshold
    confident = [
        (p.best, t) for p, t in zip(predictions, truth, strict=True) if p.confidence >= threshold
    ]
    return Evaluation(
        labels=labels,
        size=len(examples),
        accuracy=float(accuracy_score(truth, guessed)) if examples else 0.0,
        macro_f1=float(f1_score(truth, guessed, labels=labels, average="macro", zero_division=0))
        if examples
        else 0.0,
        precision=dict(zip(labels, map(float, precision), strict=True)),
        recall=dict(zip(labels, map(float, recall), strict=True)),
        f1=dict(zip(labels, map(float, f1), strict=True)),
        support=dict(zip(labels, map(int, support), strict=True)),
        confusion=confusion_matrix(truth, guessed, labels=labels).tolist() if examples else [],
        coverage=len(confident) / len(examples) if examples else 0.0,
        accuracy_when_confident=(
            sum(1 for guess, truth_ in confident if guess == truth_) / len(confident)
            if confident
            else 0.0
        ),
    )


# --- Model files


def save(pipeline: Pipeline, *, directory: Path, version: int) -> tuple[str, str]:
    """Write the model as ``triage-v<version>.joblib``; returns (file name, SHA-256)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"triage-v{version}.joblib"
    path = directory / name
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    joblib.dump(pipeline, temporary)
    temporary.replace(path)
    return name, _sha256(path)


def load(*, directory: Path, file_name: str, sha256: str) -> Pipeline:
    """The model from its file, once the file is proven to be the one that was written.

    Model files are pickles, so only a file whose checksum matches the database record is
    unpickled; anything else (truncated, edited, replaced) raises ``ModelUnavailable``.
    """
    path = directory / file_name
    try:
        actual = _sha256(path)
    except OSError as exc:
        raise ModelUnavailable(
            f"the model file {file_name} cannot be read ({exc.strerror})"
        ) from exc
    if actual != sha256:
        raise ModelUnavailable(f"the model file {file_name} is damaged (checksum mismatch)")
    try:
        pipeline: Any = joblib.load(path)
    except Exception as exc:  # a pickle can fail in many ways; all mean "unusable"
        raise ModelUnavailable(f"the model file {file_name} cannot be loaded ({exc})") from exc
    if not isinstance(pipeline, Pipeline):
        raise ModelUnavailable(f"the model file {file_name} does not hold a text model")
    return pipeline


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
