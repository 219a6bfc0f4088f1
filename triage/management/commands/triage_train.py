"""Retrain the classifier now (the background task does the same after agents' labels)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from triage import services


class Command(BaseCommand):
    help = (
        "Train a new classifier version from the training data and agents' labels; it is put "
        "in use only if it scores at least as well as the current one on the held-out split "
        "(or, once triage/data/independent_set.yaml exists, on that set, the held-out "
        "split then being trained on)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Train even when no label changed."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        row = services.classifier_retrain(force=options["force"], note="Trained by command")
        if row is None:
            self.stdout.write("Nothing new to learn; the classifier in use is kept.")
            return
        compared = (
            f" (v{row.compared_with}: {row.compared_macro_f1:.3f})" if row.compared_with else ""
        )
        self.stdout.write(
            f"Classifier v{row.version}: {row.get_status_display()}. Held-out macro-F1 "
            f"{row.holdout_macro_f1:.3f}{compared}, {row.train_size} training examples, "
            f"{row.holdout_size} held out."
        )
