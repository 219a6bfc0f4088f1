"""The text model with the rules: the data, quality on the held-out split, odd input,
model files."""

import time

import pytest

from policy.loader import get_policy
from triage import classifier


def test_the_starter_set_has_at_least_sixty_examples_per_category():
    examples = classifier.starter_examples()
    for key in get_policy().category_keys:
        texts = [e.text for e in examples if e.category == key]
        assert len(texts) >= 60, key
        assert len(set(texts)) == len(texts), f"duplicates in {key}"


def test_the_training_set_is_large_and_varied_and_has_no_duplicates():
    examples = classifier.training_set()
    assert len(examples) >= 2_800
    counts = {key: 0 for key in [*get_policy().category_keys, classifier.NONE]}
    for example in examples:
        counts[example.category] += 1  # a key outside the policy fails here
    assert min(counts.values()) >= 380, counts
    texts = [classifier.normalise(e.text) for e in examples]
    assert len(set(texts)) == len(texts)
    # Chat lines and long emails alike.
    assert sum(len(e.text) > 200 for e in examples) >= 100
    assert sum(len(e.text) < 30 for e in examples) >= 300


def test_the_held_out_split_is_stable_and_never_trained_on():
    examples = classifier.training_set()
    train, holdout = classifier.split(examples)
    assert not {e.text for e in train} & {e.text for e in holdout}
    assert 0.1 < len(holdout) / len(examples) < 0.3
    assert classifier.split(list(reversed(examples)))[1] == list(reversed(holdout))


def test_held_out_quality(trained):
    pipeline, holdout = trained
    result = classifier.evaluate(policy=get_policy(), pipeline=pipeline, examples=holdout)
    # Guards against a regression; the command prints the actual figures.
    assert result.macro_f1 >= 0.85
    assert min(result.recall.values()) >= 0.75
    assert result.coverage >= 0.6
    assert result.accuracy_when_confident >= 0.93
    # Rules and model together beat the rules alone.
    rules_only = classifier.evaluate(policy=get_policy(), pipeline=None, examples=holdout)
    assert result.macro_f1 > rules_only.macro_f1


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("wer is my oda, e never reach", "order_status"),
        ("Dem debit me two times for one order", "payments"),
        ("cant login to my acount, the OTP no dey come", "technical_support"),
        ("i want to retrun the fone, the screen cracked on arrival", "returns"),
        ("payout for last week still pending on my seller dashboard", "seller_support"),
    ],
)
def test_misspelt_and_pidgin_messages_are_understood(trained, text, category):
    prediction = classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    assert prediction.label == category
    assert prediction.confidence >= get_policy().triage.confidence_threshold


@pytest.mark.parametrize("text", ["", "   \n ", "🙂🙏🏾😡", "!!! ???"])
def test_empty_and_emoji_only_messages_get_no_guess(trained, text):
    prediction = classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    assert (prediction.best, prediction.confidence) == ("", 0.0)


@pytest.mark.parametrize(
    "text", ["我的订单在哪里, 请尽快回复", "Здравствуйте, где мой заказ?", "مرحبا، أين طلبي؟"]
)
def test_other_scripts_are_left_for_triage(trained, text):
    prediction = classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    assert prediction.confidence < get_policy().triage.confidence_threshold


def test_a_100_kb_message_is_classified_quickly_from_its_start(trained):
    text = "My refund has not arrived and I was debited twice. " + "blah " * 20_000
    assert len(text) > 100_000
    start = time.process_time()
    prediction = classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    assert time.process_time() - start < 0.5
    assert prediction.best == "payments"


def test_without_a_model_the_rules_decide(trained):
    prediction = classifier.predict(
        policy=get_policy(), pipeline=None, text="I can't log in, the password reset fails"
    )
    assert prediction.best == "technical_support"
    assert (prediction.used_model, prediction.used_rules) == (False, True)


@pytest.mark.parametrize(
    "text",
    [
        "hello, anyone around??",
        "Thanks a million, you have been great",
        "Is Izonie recruiting graduates this year?",
        "Win a brand new car today, just click this link",
    ],
)
def test_messages_for_no_category_wait_in_triage(trained, text):
    prediction = classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    assert prediction.label == classifier.NONE
    assert prediction.confidence < get_policy().triage.confidence_threshold


def test_a_saved_model_loads_back_and_predicts_the_same(tmp_path, trained):
    name, digest = classifier.save(trained[0], directory=tmp_path, version=3)
    assert name == "triage-v3.joblib"
    loaded = classifier.load(directory=tmp_path, file_name=name, sha256=digest)
    text = "where is my package"
    assert classifier.predict(policy=get_policy(), pipeline=loaded, text=text) == (
        classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    )


def test_a_model_saved_before_the_svm_moved_module_still_loads(tmp_path, trained):
    """Model files written by earlier versions name the SVM class
    ``triage.classifier.CalibratedLinearSVC``; it now lives in ``triage.svm`` (so that
    importing the classifier does not import scikit-learn) and must still unpickle."""
    import hashlib

    import joblib

    from triage.svm import CalibratedLinearSVC

    CalibratedLinearSVC.__module__ = "triage.classifier"
    try:
        joblib.dump(trained[0], tmp_path / "triage-v7.joblib")
    finally:
        CalibratedLinearSVC.__module__ = "triage.svm"
    raw = (tmp_path / "triage-v7.joblib").read_bytes()
    assert b"triage.classifier" in raw and b"triage.svm" not in raw
    loaded = classifier.load(
        directory=tmp_path,
        file_name="triage-v7.joblib",
        sha256=hashlib.sha256(raw).hexdigest(),
    )
    text = "my card was charged twice"
    assert classifier.predict(policy=get_policy(), pipeline=loaded, text=text) == (
        classifier.predict(policy=get_policy(), pipeline=trained[0], text=text)
    )


def test_importing_the_project_does_not_import_scikit_learn():
    """A web process, worker or management command that never classifies pays nothing
    for scikit-learn, boto3 or the other heavy imports (they are most of a start-up)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import django, sys; django.setup();"
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        "print(sorted(m for m in ('sklearn', 'scipy', 'boto3', 'joblib', 'numpy',"
        " 'snowballstemmer') if m in sys.modules))"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_a_damaged_model_file_is_refused_before_unpickling(tmp_path, trained):
    name, digest = classifier.save(trained[0], directory=tmp_path, version=1)
    path = tmp_path / name
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(classifier.ModelUnavailable, match="damaged"):
        classifier.load(directory=tmp_path, file_name=name, sha256=digest)


def test_a_missing_model_file_is_reported(tmp_path):
    with pytest.raises(classifier.ModelUnavailable, match="cannot be read"):
        classifier.load(directory=tmp_path, file_name="triage-v9.joblib", sha256="0" * 64)


def test_a_file_with_the_right_checksum_but_no_model_is_refused(tmp_path):
    import hashlib

    import joblib

    joblib.dump({"not": "a model"}, tmp_path / "triage-v2.joblib")
    digest = hashlib.sha256((tmp_path / "triage-v2.joblib").read_bytes()).hexdigest()
    with pytest.raises(classifier.ModelUnavailable, match="does not hold a text model"):
        classifier.load(directory=tmp_path, file_name="triage-v2.joblib", sha256=digest)
