import pytest

from policy.loader import get_policy
from triage import classifier, services


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    """Each test keeps its model files apart and loads them afresh."""
    settings.IZONIE_TRIAGE_MODEL_DIR = tmp_path / "triage-models"
    services._LOADED.clear()
    services._bootstrap_failed_at = float("-inf")
    yield
    services._LOADED.clear()
    services._bootstrap_failed_at = float("-inf")


@pytest.fixture(scope="session")
def trained():
    """A model fitted on the training split once per session, and the held-out split
    (the same fit a new installation makes until the independent set exists)."""
    train, holdout = classifier.split(classifier.training_set())
    return classifier.fit(train, policy=get_policy()), holdout
