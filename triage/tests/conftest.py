import pytest

from triage import services


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    """Each test keeps its model files apart and loads them afresh."""
    settings.IZONIE_TRIAGE_MODEL_DIR = tmp_path / "triage-models"
    services._LOADED.clear()
    services._bootstrap_failed_at = float("-inf")
    yield
    services._LOADED.clear()
    services._bootstrap_failed_at = float("-inf")
