"""Versions: the first from the starter set, later ones only if they score at least as well."""

import pytest
from django.core.management import call_command

from accounts.tests.factories import AgentFactory
from policy.loader import get_policy
from tickets.tests.factories import TicketFactory
from triage import classifier, services
from triage.models import ClassifierStatus, ClassifierVersion, LabelledExample

pytestmark = pytest.mark.django_db


def test_a_new_installation_trains_version_one_from_the_training_set(settings):
    active = services.classifier_active(bootstrap=True)
    assert active.problem == ""
    assert active.version is not None
    assert (active.version.version, active.version.status) == (1, ClassifierStatus.ACTIVE)
    assert (settings.IZONIE_TRIAGE_MODEL_DIR / "triage-v1.joblib").exists()
    train, judged = services.training_and_judging(policy=get_policy())
    assert (active.version.train_size, active.version.holdout_size) == (len(train), len(judged))
    assert len(train) > 2_000
    assert active.version.holdout_macro_f1 >= 0.8


def test_nothing_new_means_no_new_version():
    services.classifier_active(bootstrap=True)
    assert services.classifier_retrain() is None
    assert ClassifierVersion.objects.count() == 1


def test_a_candidate_scoring_the_same_replaces_the_version_in_use():
    services.classifier_active(bootstrap=True)
    row = services.classifier_retrain(force=True)
    assert row is not None
    assert row.status == ClassifierStatus.ACTIVE
    assert (row.version, row.compared_with) == (2, 1)
    assert row.holdout_macro_f1 == row.compared_macro_f1
    assert ClassifierVersion.objects.get(version=1).status == ClassifierStatus.RETIRED
    assert services.classifier_active().version == row


def test_a_candidate_scoring_worse_is_rejected_and_the_old_version_stays():
    services.classifier_active(bootstrap=True)
    agent = AgentFactory()
    # Careless labels: Order Status messages from the training split filed as Payments,
    # twice over in different words.
    train, _holdout = classifier.split(classifier.training_set())
    order_texts = [e.text for e in train if e.category == "order_status"][:120]
    for suffix in ("", " please"):
        for text in order_texts:
            if classifier.is_held_out(text + suffix):
                continue
            LabelledExample.objects.create(
                ticket=TicketFactory(), text=text + suffix, category="payments", labelled_by=agent
            )
    row = services.classifier_retrain()
    assert row is not None
    assert row.status == ClassifierStatus.REJECTED
    assert row.holdout_macro_f1 < row.compared_macro_f1
    assert row.file_name == ""
    assert services.classifier_active().version.version == 1
    # The same labels are not tried again until they change.
    assert services.classifier_retrain() is None


def test_a_damaged_active_model_falls_back_to_rules_and_says_why(settings):
    active = services.classifier_active(bootstrap=True)
    path = settings.IZONIE_TRIAGE_MODEL_DIR / active.version.file_name
    path.write_bytes(b"garbage")
    services._LOADED.clear()
    broken = services.classifier_active()
    assert broken.pipeline is None
    assert broken.problem == (
        "Classifier v1: the model file triage-v1.joblib is damaged (checksum mismatch)."
    )
    # A retrain replaces it even though nothing new was labelled.
    row = services.classifier_retrain()
    assert row is not None and row.status == ClassifierStatus.ACTIVE
    assert services.classifier_active().problem == ""


def test_the_train_command_reports_the_new_version(capsys):
    call_command("triage_train")
    out = capsys.readouterr().out
    assert out.startswith("Classifier v1: In use. Held-out macro-F1 0.")
    call_command("triage_train")
    assert "Nothing new to learn" in capsys.readouterr().out


def test_the_evaluate_command_prints_the_held_out_split(capsys):
    call_command("triage_evaluate")
    out = capsys.readouterr().out.split("\nIndependent set: ")[0]
    train, holdout = classifier.split(services.training_examples(policy=get_policy()))
    assert f"({len(train)} training, {len(holdout)} held out)" in out
    assert "precision" in out and "recall" in out
    assert "routed automatically" in out
    assert "Confusion matrix (rows: true category, columns: predicted)" in out
    lines = out.splitlines()
    names = ("Order Status", "Payments", "Technical Support", "Returns", "Seller Support")
    for name in (*names, "(none of these)"):
        # One row in the per-category table and one in the matrix.
        assert sum(line.startswith(name) for line in lines) == 2
    matrix_start = lines.index("Confusion matrix (rows: true category, columns: predicted)")
    matrix = [line.split()[-6:] for line in lines[matrix_start + 2 : matrix_start + 8]]
    assert sum(int(n) for row in matrix for n in row) == len(holdout)


def test_evaluate_rules_only(capsys):
    call_command("triage_evaluate", "--rules-only")
    out = capsys.readouterr().out
    assert out.startswith("Triage classifier: rules only\nHeld-out split: ")
    assert not ClassifierVersion.objects.exists()


@pytest.fixture
def frozen(monkeypatch):
    """What ``gc.freeze`` was asked to freeze: the loaded model must be there already.
    (The test process itself is left unfrozen.)"""
    seen: list[dict] = []
    monkeypatch.setattr("core.startup.gc.freeze", lambda: seen.append(dict(services._LOADED)))
    return seen


def test_a_server_loads_the_model_while_it_starts_not_on_its_first_message(frozen):
    """``core.startup`` (web, worker and mail processes) loads the active model before
    freezing its startup objects: the first message does not pay for scikit-learn and
    the model's unpickling, and the model is frozen with the rest."""
    from core.startup import freeze_startup_objects

    version = services.classifier_active(bootstrap=True).version
    services._LOADED.clear()
    freeze_startup_objects()
    assert [list(loaded) for loaded in frozen] == [[(version.version, version.sha256)]]


def test_a_failed_load_at_start_up_never_stops_the_server(frozen, django_db_blocker, caplog):
    """A database that cannot be read yet leaves the load to the first message and
    says so in the log; the process starts."""
    from core.startup import freeze_startup_objects

    services.classifier_active(bootstrap=True)
    services._LOADED.clear()
    with django_db_blocker.block():
        freeze_startup_objects()
    assert frozen == [{}]
    assert "Triage classifier not loaded at start-up" in caplog.text
