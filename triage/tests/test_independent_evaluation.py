"""The independent evaluation set: never trained on, scored by the evaluate command, and
once it exists the held-out split goes back into training."""

import pytest
import yaml
from django.core.management import call_command

from policy.loader import get_policy
from triage import classifier, services
from triage.models import ClassifierVersion

# A stand-in for the independent set in these tests (the real one is written by someone
# else and may not exist yet): a few messages in words of their own, one per role.
STAND_IN = [
    {
        "text": "Parcel not here, app says it left Lagos on Monday",
        "category": "order_status",
        "role": "buyer",
    },
    {
        "text": "Why did two debits of 6,500 land on my statement?",
        "category": "payments",
        "role": "buyer",
    },
    {
        "text": "Keeps saying wrong code when I enter the SMS digits",
        "category": "technical_support",
        "role": "guest",
    },
    {
        "text": "Sleeve was ripped when I unpacked the jacket, sending it back",
        "category": "returns",
        "role": "buyer",
    },
    {
        "text": "Settlement for my shop came in short this Friday",
        "category": "seller_support",
        "role": "seller",
    },
    {
        "text": "gm gm, happy sunday to all of you",
        "category": "none",
        "role": "guest",
    },
]


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    path = tmp_path / "independent_set.yaml"
    path.write_text(yaml.safe_dump(STAND_IN), encoding="utf-8")
    monkeypatch.setattr(classifier, "INDEPENDENT_SET", path)
    return path


@pytest.mark.django_db
def test_the_independent_set_is_never_in_the_training_examples():
    independent = classifier.independent_set()
    if not independent:
        pytest.skip("triage/data/independent_set.yaml is not there yet")
    keys = [*get_policy().category_keys, classifier.NONE]
    assert {e.category for e in independent} <= set(keys)
    assert {e.role for e in independent} <= {"buyer", "seller", "guest"}
    trained_on = {
        classifier.normalise(e.text) for e in services.training_examples(policy=get_policy())
    }
    overlap = [e.text for e in independent if classifier.normalise(e.text) in trained_on]
    assert overlap == []
    # Both writers wrote a few short lines the same way ("hello", "ok thanks"): few, and
    # left out of training (above).
    files = {classifier.normalise(e.text) for e in classifier.training_set()}
    assert sum(classifier.normalise(e.text) in files for e in independent) <= 15


@pytest.mark.django_db
def test_the_evaluate_command_prints_both_sets(stand_in, capsys):
    call_command("triage_evaluate")
    out = capsys.readouterr().out
    train, holdout = classifier.split(services.training_examples(policy=get_policy()))
    held_out, independent = out.split("\nIndependent set: ")
    assert f"Held-out split: {len(train) + len(holdout)} examples" in held_out
    assert independent.startswith(f"{len(STAND_IN)} examples (another writer, never trained on")
    # Once the independent set exists, the version in use learns from the held-out split.
    assert f"trained on {len(train) + len(holdout)} examples" in independent
    for part in (held_out, independent):
        assert "Accuracy " in part and "macro-F1 " in part
        assert "% routed automatically, " in part and "of those correct" in part
        for name in ("Order Status", "Payments", "Returns", "Seller Support", "(none of these)"):
            assert sum(line.startswith(name) for line in part.splitlines()) == 2


@pytest.mark.django_db
def test_with_the_independent_set_versions_learn_from_everything_and_are_judged_on_it(
    stand_in,
):
    active = services.classifier_active(bootstrap=True)
    row = active.version
    assert row is not None
    examples = services.training_examples(policy=get_policy())
    assert (row.train_size, row.holdout_size) == (len(examples), len(STAND_IN))
    assert row.note.endswith("(judged on the independent set)")
    # Nothing of the independent set was learnt: its texts are not training examples.
    assert not {e.text for e in examples} & {item["text"] for item in STAND_IN}
    # The set arriving (or changing) is new data: a retrain runs without --force.
    stand_in.write_text(yaml.safe_dump(STAND_IN[:-1]), encoding="utf-8")
    again = services.classifier_retrain()
    assert again is not None and again.holdout_size == len(STAND_IN) - 1
    assert ClassifierVersion.objects.count() == 2


@pytest.mark.django_db
def test_an_agents_label_with_a_text_of_the_independent_set_is_not_trained_on(stand_in):
    from accounts.tests.factories import AgentFactory
    from tickets.tests.factories import TicketFactory
    from triage.models import LabelledExample

    text = STAND_IN[1]["text"]
    LabelledExample.objects.create(
        ticket=TicketFactory(), text=text, category="payments", labelled_by=AgentFactory()
    )
    examples = services.training_examples(policy=get_policy())
    assert text not in {e.text for e in examples}
