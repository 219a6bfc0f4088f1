"""Per-category precision and recall, and a confusion matrix, on the held-out split."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policy.loader import get_policy
from triage import classifier, services


class Command(BaseCommand):
    help = (
        "Score the classifier in use (rules + text model) on the held-out split of the "
        "starter set and agents' labels: accuracy, macro-F1, per-category precision, "
        "recall and F1, and a confusion matrix."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--rules-only", action="store_true", help="Score the policy's rules alone."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        policy = get_policy()
        examples = services.training_examples(policy=policy)
        train, holdout = classifier.split(examples)
        if not holdout:
            raise CommandError("There are no held-out examples to score.")
        if options["rules_only"]:
            pipeline, name = None, "rules only"
        else:
            active = services.classifier_active(bootstrap=True)
            if active.pipeline is None:
                raise CommandError(f"No text model can be used: {active.problem}")
            assert active.version is not None
            pipeline, name = active.pipeline, f"classifier v{active.version.version} with rules"
        result = classifier.evaluate(policy=policy, pipeline=pipeline, examples=holdout)
        self.stdout.write(format_evaluation(result, name=name, train_size=len(train)))


def format_evaluation(result: classifier.Evaluation, *, name: str, train_size: int) -> str:
    policy = get_policy()
    names = {c.key: c.name for c in policy.categories}
    lines = [
        f"Triage classifier: {name}",
        f"Examples: {train_size + result.size} ({train_size} training, {result.size} held out)",
        f"Accuracy {result.accuracy:.3f}   macro-F1 {result.macro_f1:.3f}",
        f"At the confidence threshold {policy.triage.confidence_threshold:g}: "
        f"{result.coverage:.1%} categorised automatically, "
        f"{result.accuracy_when_confident:.1%} of those correct; the rest wait in triage.",
        "",
        f"{'category':<20}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}",
    ]
    for key in result.labels:
        lines.append(
            f"{names.get(key, key):<20}{result.precision[key]:>10.3f}{result.recall[key]:>10.3f}"
            f"{result.f1[key]:>10.3f}{result.support[key]:>10}"
        )
    short = [names.get(key, key)[:9] for key in result.labels]
    lines += ["", "Confusion matrix (rows: true category, columns: predicted)"]
    lines.append(" " * 20 + "".join(f"{label:>10}" for label in short))
    for key, row in zip(result.labels, result.confusion, strict=True):
        lines.append(f"{names.get(key, key):<20}" + "".join(f"{n:>10}" for n in row))
    unplaced = result.size - sum(sum(row) for row in result.confusion)
    if unplaced:
        lines.append(f"({unplaced} held-out messages got no category at all)")
    return "\n".join(lines) + "\n"
