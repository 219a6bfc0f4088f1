"""The text model: training, the held-out split, scoring, and the versioned model files.

Prediction combines the policy's rules with a scikit-learn pipeline (TF-IDF of words and
of character n-grams, which copes with misspellings such as "wer is my oda", feeding a
linear SVM whose scores are turned into calibrated probabilities by a temperature fitted
on cross-validated scores), then uses what the system knows besides the words: who wrote
(a buyer's message is never for a sellers-only category; a seller's leans to one), an
order number in the text (a feature the model learns) and an attached photo (evidence
for the categories that ask for photos). Besides the policy's categories the model knows
"none of these" (greetings, thanks, spam): its probability counts against every category,
so such messages stay below the threshold and wait in triage. Nothing here touches
tickets; ``triage.services`` does.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from policy.schema import SupportPolicy
from triage.rules import rule_scores

# scikit-learn, joblib and numpy are imported where a model is fitted, scored or loaded,
# not with this module: they were most of the project's import time (about 2 s of the 5 s
# a web process took to start), and processes that never classify (management commands,
# checks, pages without a new ticket) need none of them.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


DATA = Path(__file__).resolve().parent / "data"
STARTER_EXAMPLES = DATA / "starter_examples.yaml"
# The training set written from customer personas: one file per category, and "none".
TRAINING_DIR = DATA / "training"
# Written separately, by another writer, to measure generalisation: never trained on.
INDEPENDENT_SET = DATA / "independent_set.yaml"
# The model's class for messages that belong to no category (never a policy key).
NONE = "none"
# Who wrote a message, as far as the system knows ("" when it does not).
ROLES = ("buyer", "seller", "guest", "")
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
    category: str  # a policy category key, or NONE
    role: str = ""  # who wrote it, when known (see ROLES)


@dataclass(frozen=True)
class Prediction:
    best: str  # the most likely category key, "" when there is nothing to go on
    confidence: float
    scores: dict[str, float]
    used_model: bool
    used_rules: bool
    # The probability that the message belongs to no category at all.
    none_score: float = 0.0

    @property
    def label(self) -> str:
        """The category, or NONE when "none of these" is likelier (or nothing to go on)."""
        return self.best if self.best and self.confidence > self.none_score else NONE


class ModelUnavailable(Exception):
    """The model file is missing, damaged or not the one recorded."""


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    return re.sub(r"\s+", " ", text).strip()


def has_words(text: str) -> bool:
    """Whether there is any letter or digit to classify (emoji-only messages have none)."""
    return any(ch.isalnum() for ch in text)


def starter_examples(*, path: Path = STARTER_EXAMPLES) -> list[Example]:
    return list(_examples_in(str(path), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=16)
def _examples_in(path: str, _mtime_ns: int) -> tuple[Example, ...]:
    # Parsed once per process and file version: retraining reads every file each time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    return tuple(Example(text=text, category=key) for key, texts in data.items() for text in texts)


def training_set(*, directory: Path = TRAINING_DIR) -> list[Example]:
    """The starter set and the persona-written training files (category keys and NONE)."""
    examples = starter_examples()
    for path in sorted(directory.glob("*.yaml")):
        examples += starter_examples(path=path)
    return examples


def independent_set(*, path: Path | None = None) -> list[Example]:
    """The independent evaluation set (items ``{text, category, role}``), or [] while it
    does not exist. Only ever scored on, never trained on."""
    path = path or INDEPENDENT_SET
    if not path.exists():
        return []
    return list(_independent_in(str(path), path.stat().st_mtime_ns))


def without_independent(examples: Sequence[Example]) -> list[Example]:
    """``examples`` less any whose text is in the independent set: it is never trained
    on, even where a short message ("hello", "ok thanks") was written the same way by
    both writers."""
    independent = _normalised_texts(tuple(independent_set()))
    return [e for e in examples if _normalised(e.text) not in independent]


# Every retraining filters the same few thousand shipped texts: normalised once each.
@functools.lru_cache(maxsize=16_384)
def _normalised(text: str) -> str:
    return normalise(text)


@functools.lru_cache(maxsize=4)
def _normalised_texts(examples: tuple[Example, ...]) -> frozenset[str]:
    return frozenset(_normalised(e.text) for e in examples)


@functools.lru_cache(maxsize=4)
def _independent_in(path: str, _mtime_ns: int) -> tuple[Example, ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    items = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader) or []  # noqa: S506
    return tuple(
        Example(
            text=str(item["text"]),
            category=str(item["category"]),
            role=str(item.get("role") or "") if item.get("role") in ROLES else "",
        )
        for item in items
    )


def is_held_out(text: str) -> bool:
    return zlib.crc32(normalise(text).encode()) % HOLDOUT_EVERY == 0


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not is_held_out(e.text)]
    holdout = [e for e in examples if is_held_out(e.text)]
    return train, holdout


@functools.cache
def _analysers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return (
        TfidfVectorizer(ngram_range=(1, 2)).build_analyzer(),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer(),
    )


def words_and_characters(text: str) -> list[str]:
    """Word 1-2-grams and character 2-5-grams (within words) as one feature stream: the
    characters carry misspellings ("wer is my oda"), the words carry phrases. One
    vectoriser instead of two halves the per-message cost. Module-level, so the pickled
    model refers to it by name."""
    words, characters = _analysers()
    return [f"w:{gram}" for gram in words(text)] + characters(text)


# What an order number becomes before the features are taken: one word the model learns
# as evidence (orders are about delivery, payment or a return, rarely a login).
ORDER_NUMBER_WORD = " ordernumber "


def prepare(text: str, *, order_pattern: str) -> str:
    """The normalised text with each order number replaced by ``ORDER_NUMBER_WORD``."""
    return _order_regex(order_pattern).sub(ORDER_NUMBER_WORD, normalise(text)).strip()


@functools.lru_cache(maxsize=8)
def _order_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])#?(?:{pattern})(?![\w-])", re.IGNORECASE)


def _softmax(scores: Any, temperature: float) -> Any:
    import numpy as np

    scores = np.atleast_2d(scores)
    if scores.shape[1] == 1:  # two classes: one column of scores
        scores = np.hstack([-scores, scores])
    scores = scores / temperature
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def __getattr__(name: str) -> Any:
    # Model files pickled before scikit-learn became a lazy import name the SVM class as
    # ``triage.classifier.CalibratedLinearSVC``; unpickling one asks this module for it.
    if name == "CalibratedLinearSVC":
        from triage.svm import CalibratedLinearSVC

        return CalibratedLinearSVC
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_pipeline() -> Pipeline:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    from triage.svm import CalibratedLinearSVC

    return Pipeline(
        [
            (
                "features",
                TfidfVectorizer(analyzer=words_and_characters, sublinear_tf=True, min_df=2),
            ),
            ("model", CalibratedLinearSVC(C=0.5)),
        ]
    )


def fit(examples: Sequence[Example], *, policy: SupportPolicy) -> Pipeline:
    return _fit(tuple(examples), policy.order_numbers.pattern)


@functools.lru_cache(maxsize=4)
def _fit(examples: tuple[Example, ...], order_pattern: str) -> Pipeline:
    # Fitting is deterministic, so the same examples give the same model: a process that
    # retrains on unchanged data (every test database starts empty) reuses the last fit.
    pipeline = build_pipeline()
    pipeline.fit(
        [prepare(e.text, order_pattern=order_pattern) for e in examples],
        [e.category for e in examples],
    )
    return pipeline


def predict(
    *,
    policy: SupportPolicy,
    pipeline: Pipeline | None,
    text: str,
    role: str = "",
    photo: bool = False,
) -> Prediction:
    """Rules and model combined: the model's probabilities, moved towards the categories
    whose rules match by the policy's ``rules_weight``; then who wrote (``role``: a buyer
    or guest never gets a sellers-only category, a seller leans to one by the policy's
    ``seller_prior``) and an attached photo (``photo_evidence``), renormalised. Either
    the rules or the model may be missing."""
    return predict_many(policy=policy, pipeline=pipeline, items=[(text, role, photo)])[0]


def predict_many(
    *, policy: SupportPolicy, pipeline: Pipeline | None, items: Sequence[tuple[str, str, bool]]
) -> list[Prediction]:
    """``predict`` for many ``(text, role, photo)`` at once (one feature pass)."""
    pattern = policy.order_numbers.pattern
    prepared = [prepare(text, order_pattern=pattern) for text, _role, _photo in items]
    probabilities: Any = None
    if pipeline is not None:
        worded = [p for p in prepared if has_words(p)]
        if worded:
            probabilities = iter(_probabilities(pipeline, worded))
    return [
        _combine(
            policy=policy,
            pipeline=pipeline,
            cleaned=cleaned,
            probabilities=next(probabilities) if has_words(cleaned) and probabilities else None,
            role=role,
            photo=photo,
        )
        for cleaned, (_text, role, photo) in zip(prepared, items, strict=True)
    ]


def _combine(
    *,
    policy: SupportPolicy,
    pipeline: Pipeline | None,
    cleaned: str,
    probabilities: Any,
    role: str,
    photo: bool,
) -> Prediction:
    nothing = Prediction(best="", confidence=0.0, scores={}, used_model=False, used_rules=False)
    if not has_words(cleaned):
        return nothing
    known = set(policy.category_keys)
    rules = rule_scores(policy=policy, text=cleaned[:RULES_CHARS])
    model_scores: dict[str, float] = {}
    if pipeline is not None and probabilities is not None:
        model_scores = {
            str(key): float(p)
            for key, p in zip(pipeline.classes_, probabilities, strict=True)
            if key in known or key == NONE
        }
    if model_scores and rules:
        weight = policy.triage.rules_weight
        scores = {
            key: (1 - weight) * model_scores.get(key, 0.0) + weight * rules.get(key, 0.0)
            for key in known
        }
        if NONE in model_scores:
            scores[NONE] = (1 - weight) * model_scores[NONE]
    else:
        scores = dict(model_scores or rules)
    scores = _known_facts(policy=policy, scores=scores, role=role, photo=photo)
    none_score = scores.pop(NONE, 0.0)
    if not scores or not any(scores.values()):
        return nothing
    best = max(scores, key=lambda key: scores[key])
    return Prediction(
        best=best,
        confidence=round(scores[best], 4),
        scores=scores,
        used_model=bool(model_scores),
        used_rules=bool(rules),
        none_score=round(none_score, 4),
    )


def _known_facts(
    *, policy: SupportPolicy, scores: dict[str, float], role: str, photo: bool
) -> dict[str, float]:
    """Bayes' rule with what the system knows besides the words, renormalised.

    A buyer's message loses the sellers-only categories and the rest is renormalised;
    but when those categories held most of the probability (the message reads as a
    seller's: likely a seller writing from an account not known as one), the rest is
    too thin to route on, so what they held goes to "none of these" and the message
    waits in triage."""
    adjusted = dict(scores)
    removed = 0.0
    for category in policy.categories:
        if category.key not in adjusted:
            continue
        if category.audience == "sellers":
            if role in ("buyer", "guest"):
                removed += adjusted[category.key]
                adjusted[category.key] = 0.0
            elif role == "seller":
                adjusted[category.key] *= policy.triage.seller_prior
        if photo and category.asks_for_photos:
            adjusted[category.key] *= policy.triage.photo_evidence
    if removed > 0.5 and NONE in adjusted:
        adjusted[NONE] += removed
    total = sum(adjusted.values())
    if total <= 0:
        return {key: 0.0 for key in adjusted}
    return {key: value / total for key, value in adjusted.items()}


def _probabilities(pipeline: Pipeline, texts: Sequence[str]) -> Any:
    """``pipeline.predict_proba(texts)``, computed directly from the coefficients: the
    same softmax, without scikit-learn's per-call input validation, which costs more than
    the arithmetic for one message. Works for the calibrated SVM and for the logistic
    regression of earlier versions (temperature 1)."""
    import numpy as np

    features = pipeline.named_steps["features"].transform(texts)
    model: Any = pipeline.named_steps["model"]
    scores = np.asarray(features @ model.coef_.T) + model.intercept_
    return _softmax(scores, float(getattr(model, "temperature_", 1.0)))


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
    # Share of messages categorised automatically (a category, not "none", at or above
    # the confidence threshold), and how many of those were right: what the threshold
    # trades. The rest wait in triage for an agent.
    coverage: float = 0.0
    accuracy_when_confident: float = 0.0


# The last evaluations, by (model, policy, examples): retraining scores the model in use
# again on the same examples, and each call costs a feature pass over hundreds of them.
# Holding the model and the policy keeps their ids from being reused while cached.
_EVALUATIONS: dict[
    tuple[int, int, tuple[Example, ...]], tuple[Pipeline | None, SupportPolicy, Evaluation]
] = {}


def evaluate(
    *, policy: SupportPolicy, pipeline: Pipeline | None, examples: Sequence[Example]
) -> Evaluation:
    """Scores against each example's category (or NONE), using each example's role.

    A message counts as guessed NONE when "none of these" is likelier than any category
    (or there is nothing to go on); accuracy and macro-F1 include NONE when the examples
    hold any."""
    key = (id(pipeline), id(policy), tuple(examples))
    cached = _EVALUATIONS.get(key)
    if cached is not None and cached[0] is pipeline and cached[1] is policy:
        return cached[2]
    if len(_EVALUATIONS) >= 8:
        _EVALUATIONS.clear()
    result = _evaluate(policy=policy, pipeline=pipeline, examples=examples)
    _EVALUATIONS[key] = (pipeline, policy, result)
    return result


def _evaluate(
    *, policy: SupportPolicy, pipeline: Pipeline | None, examples: Sequence[Example]
) -> Evaluation:
    keys = [*policy.category_keys, NONE]
    labels = [key for key in keys if any(e.category == key for e in examples)]
    truth = [e.category for e in examples]
    predictions = predict_many(
        policy=policy, pipeline=pipeline, items=[(e.text, e.role, False) for e in examples]
    )
    guessed = [p.label for p in predictions]
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guessed, labels=labels, zero_division=0
    )
    threshold = policy.triage.confidence_threshold
    routed = [
        (p.best, t)
        for p, t in zip(predictions, truth, strict=True)
        if p.label == p.best and p.confidence >= threshold
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
        coverage=len(routed) / len(examples) if examples else 0.0,
        accuracy_when_confident=(
            sum(1 for guess, truth_ in routed if guess == truth_) / len(routed) if routed else 0.0
        ),
    )


# --- Model files


def save(pipeline: Pipeline, *, directory: Path, version: int) -> tuple[str, str]:
    """Write the model as ``triage-v<version>.joblib``; returns (file name, SHA-256)."""
    global _last_saved
    directory.mkdir(parents=True, exist_ok=True)
    name = f"triage-v{version}.joblib"
    path = directory / name
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    if not _copy_of_last_saved(pipeline, temporary):
        import joblib

        joblib.dump(pipeline, temporary)
    temporary.replace(path)
    digest = _sha256(path)
    _last_saved = (pipeline, path, digest)
    return name, digest


# The last model written, its file and checksum. Fitting is cached (``_fit``), so a
# retraining on unchanged data saves the same model again (every new database does, and
# every test starts one): its file is copied rather than pickled anew.
_last_saved: tuple[Pipeline, Path, str] | None = None


def _copy_of_last_saved(pipeline: Pipeline, target: Path) -> bool:
    if _last_saved is None or _last_saved[0] is not pipeline:
        return False
    _pipeline, source, digest = _last_saved
    try:
        shutil.copyfile(source, target)
        if _sha256(target) == digest:
            return True
    except OSError:
        pass
    return False


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
        import joblib

        pipeline: Any = joblib.load(path)
    except Exception as exc:  # a pickle can fail in many ways; all mean "unusable"
        raise ModelUnavailable(f"the model file {file_name} cannot be loaded ({exc})") from exc
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline):
        raise ModelUnavailable(f"the model file {file_name} does not hold a text model")
    return pipeline


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
