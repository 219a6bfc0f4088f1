"""Background work for triage."""

from django_tasks import task

from triage import services


@task()
def retrain_classifier() -> None:
    """Retrain from agents' labels; does nothing when nothing changed since the last run."""
    services.classifier_retrain()
