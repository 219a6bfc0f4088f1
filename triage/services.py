"""Writes for triage: categorising new tickets, agents' labels, retraining, orders in text.

The write path (``tickets.write_path``) asks here how a new ticket is filed
(``opening_categories``), whether to ask for an order number and which order a message
names; ``tickets.services.ticket_update`` calls ``category_labelled``. Nothing here calls
back into the ticket services: the acts on a ticket that follow a decision made here (the
order-number request, filing from the triage view) are ``tickets.workflows``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from accounts.models import Role, User
from marketplace.adapters import MarketplaceUnavailable, get_marketplace
from policy.loader import get_policy
from policy.schema import SupportPolicy
from tickets.choices import Direction, MessageKind
from tickets.models import Ticket
from triage import classifier
from triage.models import (
    ClassifierStatus,
    ClassifierVersion,
    LabelledExample,
    PredictionSource,
    TicketTriage,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline  # imported where a model is loaded

logger = logging.getLogger(__name__)

# At most this many order-number-looking strings are checked per message.
MAX_ORDER_CANDIDATES = 5
LABEL_TEXT_CHARS = 5000


def _model_dir() -> Path:
    return Path(settings.IZONIE_TRIAGE_MODEL_DIR)


# --- The classifier in use


@dataclass(frozen=True)
class ActiveClassifier:
    version: ClassifierVersion | None
    pipeline: Pipeline | None
    # Why the text model is not in use ("" when it is); shown in the console.
    problem: str = ""


# Loaded pipelines by (version, checksum): one load per process per version.
_LOADED: dict[tuple[int, str], Pipeline] = {}
# When training a first version failed, new tickets use the rules for a while before the
# next attempt.
BOOTSTRAP_RETRY_SECONDS = 300
_bootstrap_failed_at = float("-inf")


def classifier_active(*, bootstrap: bool = False) -> ActiveClassifier:
    """The classifier in use. With ``bootstrap``, a first version is trained from the
    starter set when none exists yet (a new installation)."""
    global _bootstrap_failed_at
    row = ClassifierVersion.objects.filter(status=ClassifierStatus.ACTIVE).first()
    recently_failed = time.monotonic() - _bootstrap_failed_at < BOOTSTRAP_RETRY_SECONDS
    if row is None and bootstrap and not recently_failed:
        if classifier_retrain(note="First version, from the starter set") is None:
            # e.g. the model directory is not writable: rules only, without retraining
            # on every new ticket.
            _bootstrap_failed_at = time.monotonic()
        row = ClassifierVersion.objects.filter(status=ClassifierStatus.ACTIVE).first()
    if row is None:
        return ActiveClassifier(None, None, "No text model has been trained yet.")
    key = (row.version, row.sha256)
    pipeline = _LOADED.get(key)
    if pipeline is None:
        try:
            pipeline = classifier.load(
                directory=_model_dir(), file_name=row.file_name, sha256=row.sha256
            )
        except classifier.ModelUnavailable as exc:
            logger.error("Triage classifier v%s unusable: %s", row.version, exc)
            return ActiveClassifier(row, None, f"Classifier v{row.version}: {exc}.")
        _LOADED[key] = pipeline
    return ActiveClassifier(row, pipeline)


def classifier_preload() -> None:
    """Load the active model and classify one text, so that a long-running process
    (web, worker, mail commands: ``core.startup``) pays for importing scikit-learn and
    unpickling the model while it starts, and freezes the model with its other startup
    objects, instead of on its first message (about 1.5 s of CPU). The model is
    imported lazily so that short commands and tests do not pay for it at all. Nothing
    here may stop a server from starting: a database that cannot be read yet, or any
    other failure, only defers the load to the first message."""
    try:
        active = classifier_active()
        classifier.predict(policy=get_policy(), pipeline=active.pipeline, text="Where is my order?")
    except Exception:
        logger.warning("Triage classifier not loaded at start-up", exc_info=True)


def training_examples(*, policy: SupportPolicy) -> list[classifier.Example]:
    """The starter and training sets plus every agent's label, for the categories the
    policy still has (and "none of these"), less any text of the independent set."""
    keys = set(policy.category_keys)
    examples = [
        e for e in classifier.training_set() if e.category in keys or e.category == classifier.NONE
    ]
    examples += [
        classifier.Example(text=text, category=category)
        for text, category in LabelledExample.objects.filter(category__in=keys)
        .order_by("pk")
        .values_list("text", "category")
    ]
    return classifier.without_independent(examples)


def training_and_judging(
    *, policy: SupportPolicy
) -> tuple[list[classifier.Example], list[classifier.Example]]:
    """What a new version learns from and what it is judged on.

    Until the independent set exists, the held-out split is kept out of training and
    judges. Once it exists it is the held-out data (written by someone else, never
    trained on), so the held-out split goes back into training (issue 20) and versions
    are judged on the independent set; ``triage_evaluate`` still scores the split with a
    model fitted without it."""
    examples = training_examples(policy=policy)
    independent = classifier.independent_set()
    if independent:
        return examples, independent
    return classifier.split(examples)


def classifier_retrain(*, force: bool = False, note: str = "") -> ClassifierVersion | None:
    """Train a candidate (see ``training_and_judging``) and put it in use only if it
    scores at least as well (macro-F1, rules included) on the judging set as the version
    in use.

    Returns the new version's row (active or rejected), or ``None`` when there was nothing
    new to learn or another run got there first. Safe to run late or twice.
    """
    policy = get_policy()
    labels = LabelledExample.objects.filter(category__in=policy.category_keys).aggregate(
        count=Count("pk"), latest=Max("updated_at")
    )
    latest_row = ClassifierVersion.objects.order_by("-version").first()
    current = classifier_active()
    train, judged = training_and_judging(policy=policy)
    if (
        not force
        and latest_row is not None
        and current.pipeline is not None
        and latest_row.labelled_examples == labels["count"]
        and latest_row.labels_changed_up_to == labels["latest"]
        # The shipped data changed (a new training file, the independent set arrived).
        and (latest_row.train_size, latest_row.holdout_size) == (len(train), len(judged))
    ):
        return None
    candidate = classifier.fit(train, policy=policy)
    candidate_score = classifier.evaluate(policy=policy, pipeline=candidate, examples=judged)
    current_score = (
        classifier.evaluate(policy=policy, pipeline=current.pipeline, examples=judged)
        if current.pipeline is not None
        else None
    )
    promote = current_score is None or candidate_score.macro_f1 >= current_score.macro_f1
    version = (latest_row.version if latest_row else 0) + 1
    judged_on = " (judged on the independent set)" if classifier.independent_set() else ""
    row = ClassifierVersion(
        version=version,
        status=ClassifierStatus.ACTIVE if promote else ClassifierStatus.REJECTED,
        train_size=len(train),
        holdout_size=len(judged),
        holdout_accuracy=candidate_score.accuracy,
        holdout_macro_f1=candidate_score.macro_f1,
        compared_with=current.version.version if current_score and current.version else None,
        compared_macro_f1=current_score.macro_f1 if current_score else None,
        labelled_examples=labels["count"],
        labels_changed_up_to=labels["latest"],
        note=(
            (note or ("Retrained with agents' labels" if labels["count"] else "Retrained"))
            + judged_on
        )[:300],
    )
    if promote:
        try:
            row.file_name, row.sha256 = classifier.save(
                candidate, directory=_model_dir(), version=version
            )
        except OSError as exc:
            # Nothing is recorded, so the version in use (or the rules) carries on.
            logger.error("Classifier v%s not saved to %s: %s", version, _model_dir(), exc)
            return None
    try:
        with transaction.atomic():
            if promote:
                ClassifierVersion.objects.filter(status=ClassifierStatus.ACTIVE).update(
                    status=ClassifierStatus.RETIRED
                )
            row.save()
    except IntegrityError:
        logger.info("Classifier v%s was trained by another run; keeping that one.", version)
        return None
    if promote:
        _LOADED[(row.version, row.sha256)] = candidate
    return row


# --- New tickets


def requester_role(requester: User) -> str:
    """Who wrote, for the classifier: "seller", "buyer" (any other customer: a guest
    writing from an address has a buyer's account), or "" (staff, unknown)."""
    if requester.role == Role.SELLER:
        return "seller"
    return "buyer" if requester.is_customer else ""


def _may_use(category_key: str, requester: User, policy: SupportPolicy) -> bool:
    category = policy.category(category_key)
    return not (
        category.audience == "sellers" and requester.is_customer and requester.role != Role.SELLER
    )


@dataclass(frozen=True)
class OpeningCategory:
    """How a ticket opened without a category is filed: ``category`` ("" when it waits in
    triage) and the prediction's record (unsaved; ``None`` for a registered seller)."""

    category: str
    record: TicketTriage | None


@dataclass(frozen=True)
class OpeningToFile:
    """A ticket about to be opened without a category: who wrote, on which channel,
    the text, whether an image is attached (evidence for the categories that ask for
    photos), and whether the requester is a registered seller when the caller asked for
    the whole batch (``triage.sellers.registered_sellers``; None: asked here)."""

    requester: User
    channel: str
    text: str
    photo: bool = False
    seller: bool | None = None


def opening_categories(
    *, items: Sequence[OpeningToFile], active: ActiveClassifier
) -> list[OpeningCategory]:
    """Categorise tickets about to be opened without a category, each when confident
    enough, the texts classified together (one pass of the model over the batch: about a
    third of the CPU of one at a time). Pure but for the marketplace's seller check on
    email when ``seller`` is None: the write path stores each record with its ticket,
    whose INSERT carries the category and team."""
    from triage.sellers import SELLER_SUPPORT, category_for_requester

    policy = get_policy()
    results: list[OpeningCategory | None] = []
    for item in items:
        # A registered seller writing on any channel is Seller Support (issue 7, point 6).
        if item.seller is None:
            seller_category = category_for_requester(requester=item.requester, channel=item.channel)
        else:
            seller_category = SELLER_SUPPORT if item.seller else ""
        results.append(OpeningCategory(seller_category, None) if seller_category else None)
    asked = [item for item, result in zip(items, results, strict=True) if result is None]
    predictions = iter(
        classifier.predict_many(
            policy=policy,
            pipeline=active.pipeline,
            items=[(i.text, requester_role(i.requester), i.photo) for i in asked],
        )
        if asked
        else []
    )
    return [
        result
        if result is not None
        else _filed(next(predictions), requester=item.requester, active=active, policy=policy)
        for item, result in zip(items, results, strict=True)
    ]


def _filed(
    prediction: classifier.Prediction,
    *,
    requester: User,
    active: ActiveClassifier,
    policy: SupportPolicy,
) -> OpeningCategory:
    applied = (
        bool(prediction.best)
        # "None of these" (a greeting, spam) likelier than any category: triage decides.
        and prediction.label == prediction.best
        and prediction.confidence >= policy.triage.confidence_threshold
        and _may_use(prediction.best, requester, policy)
    )
    if prediction.used_model and prediction.used_rules:
        source = PredictionSource.RULES_AND_MODEL
    elif prediction.used_model:
        source = PredictionSource.MODEL
    elif prediction.used_rules:
        source = PredictionSource.RULES
    else:
        source = PredictionSource.NONE
    record = TicketTriage(
        predicted_category=prediction.best,
        confidence=prediction.confidence,
        applied=applied,
        source=source,
        classifier=active.version if prediction.used_model else None,
        fallback_reason=active.problem[:300] if active.pipeline is None else "",
    )
    return OpeningCategory(prediction.best if applied else "", record)


def order_number_wanted(*, ticket: Ticket) -> bool:
    """Whether the customer should be asked for the order number the ticket's category
    needs (claimed once per ticket by the caller)."""
    if not ticket.category or ticket.order_number or not ticket.requester.is_customer:
        return False
    if ticket.unverified_order_number:
        return False  # given, and set aside until the requester proves their address
    return get_policy().category(ticket.category).needs_order_number


def order_number_request_text() -> str:
    policy = get_policy()
    return policy.triage.order_number_request.replace("{example}", policy.order_numbers.example)


# --- Orders named in free text


def order_numbers_in(text: str, *, policy: SupportPolicy) -> list[str]:
    """Order-number-shaped strings in ``text``, canonical (upper case), first seen first."""
    pattern = re.compile(rf"(?<![\w-])#?({policy.order_numbers.pattern})(?![\w-])", re.IGNORECASE)
    found: list[str] = []
    for match in pattern.finditer(text):
        number = match.group(1).upper()
        if number not in found:
            found.append(number)
        if len(found) == MAX_ORDER_CANDIDATES:
            break
    return found


def order_number_in_text(*, ticket: Ticket, text: str) -> str:
    """The first order number in ``text`` that the marketplace confirms (for a customer:
    one of their own orders), or "". Orders of other customers are never linked nor
    mentioned. The marketplace is asked only when the text holds order-shaped strings."""
    policy = get_policy()
    numbers = order_numbers_in(text, policy=policy)
    if not numbers:
        return ""
    marketplace = get_marketplace()
    requester = ticket.requester
    for number in numbers:
        try:
            if requester.is_customer:
                order = marketplace.order_for_customer(number=number, customer_id=requester.pk)
            else:
                order = marketplace.order_get(number=number)
        except MarketplaceUnavailable as exc:
            logger.warning("Order %s on ticket %s not checked: %s", number, ticket.pk, exc)
            return ""
        if order is not None:
            return number
    return ""


def order_link_from_text(*, ticket: Ticket, text: str) -> str:
    """Link the first order number in ``text`` that the marketplace confirms. Returns the
    linked number, or ""."""
    number = order_number_in_text(ticket=ticket, text=text)
    if number:
        ticket.order_number = number
        ticket.save(update_fields=["order_number"])
    return number


# --- Agents' labels


def _ticket_text(ticket: Ticket) -> str:
    first = (
        ticket.messages.filter(direction=Direction.INBOUND, kind=MessageKind.REPLY)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
        .first()
    )
    return f"{ticket.subject}\n{first or ''}"[:LABEL_TEXT_CHARS]


def category_labelled(*, ticket: Ticket, actor: User | None) -> LabelledExample | None:
    """An agent set the ticket's category: keep it as a training example and schedule a
    retrain (on commit). Returns the example; when there is one, the caller
    (``tickets.services.ticket_update``) asks for what the category needs
    (``tickets.workflows.asks_after_category``)."""
    from triage.tasks import retrain_classifier

    if actor is None or not actor.is_agent or not ticket.category:
        return None
    triage = TicketTriage.objects.filter(ticket=ticket).first()
    example, _ = LabelledExample.objects.update_or_create(
        ticket=ticket,
        defaults={
            "text": _ticket_text(ticket),
            "category": ticket.category,
            "predicted_category": triage.predicted_category if triage else "",
            "labelled_by": actor,
        },
    )
    transaction.on_commit(partial(retrain_classifier.enqueue))
    return example
