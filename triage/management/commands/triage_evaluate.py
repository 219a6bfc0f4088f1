"""The classifier's quality on the held-out split and on the independent set."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from sklearn.pipeline import Pipeline

from policy.loader import get_policy
from triage import classifier, services


class Command(BaseCommand):
    help = (
        "Score the classifier (rules + text model) on two sets: the held-out split of the "
        "training data (one example in five, by a hash of its text) and, when "
        "triage/data/independent_set.yaml exists, the independent set written separately "
        "by another writer and never trained on. For each: accuracy, macro-F1, "
        "per-category precision, recall and F1 (with 'none of these'), a confusion matrix, "
        "the share of messages routed automatically at the policy's confidence threshold "
        "and the precision of what is routed. The held-out split is scored with a model "
        "fitted without it. Once the independent set exists, the held-out split goes back "
        "into training (the versions in use learn from all the data and are judged on the "
        "independent set), and the independent set is scored with the version in use."
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
        independent = classifier.independent_set()
        holdout_model: Pipeline | None = None
        independent_model: Pipeline | None = None
        if options["rules_only"]:
            name = "rules only"
            independent_name = "rules only"
            independent_train = 0
        else:
            active = services.classifier_active(bootstrap=True)
            if active.pipeline is None:
                raise CommandError(f"No text model can be used: {active.problem}")
            assert active.version is not None
            name = f"classifier v{active.version.version} with rules"
            independent_model = active.pipeline
            independent_name = name
            independent_train = active.version.train_size
            # The version in use may have learnt from the held-out split (once the
            # independent set exists): the split is scored with a model fitted without it.
            holdout_model = classifier.fit(train, policy=policy)
        self.stdout.write(f"Triage classifier: {name}\n")
        result = classifier.evaluate(policy=policy, pipeline=holdout_model, examples=holdout)
        self.stdout.write(
            format_evaluation(
                result,
                title=(
                    f"Held-out split: {len(train) + result.size} examples "
                    f"({len(train)} training, {result.size} held out)"
                    + ("" if options["rules_only"] else "; model fitted on the training part")
                ),
            )
        )
        if not independent:
            self.stdout.write(
                "\nIndependent set: not present (triage/data/independent_set.yaml).\n"
            )
            return
        result = classifier.evaluate(
            policy=policy, pipeline=independent_model, examples=independent
        )
        trained = f"; {independent_name} trained on {independent_train} examples"
        self.stdout.write(
            "\n"
            + format_evaluation(
                result,
                title=(
                    f"Independent set: {result.size} examples (another writer, never trained "
                    f"on; the writer's roles used)" + ("" if options["rules_only"] else trained)
                ),
            )
        )


def format_evaluation(result: classifier.Evaluation, *, title: str) -> str:
    policy = get_policy()
    names = {c.key: c.name for c in policy.categories} | {classifier.NONE: "(none of these)"}
    lines = [
        title,
        f"Accuracy {result.accuracy:.3f}   macro-F1 {result.macro_f1:.3f}",
        f"At the confidence threshold {policy.triage.confidence_threshold:g}: "
        f"{result.coverage:.1%} routed automatically, {result.accuracy_when_confident:.1%} "
        "of those correct; the rest wait in triage.",
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
    return "\n".join(lines) + "\n"
