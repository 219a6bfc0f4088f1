"""Real-world mail (issue 17, item 7): every message of mail/tests/corpus, gathered from
the test suites of mail software (origin and licence in corpus/README.md), goes through
intake as delivered mail does, and ends as its reviewed expectation says
(corpus/expected.json): a ticket, a bounce, machine mail, a duplicate, or quarantined
with its reason. No automatic message reaches a machine sender."""

import json
import re

import pytest

from mail.models import InboundEmail
from mail.parsing import parse_email
from mail.tests.corpus_run import CORPUS_DIR, EXPECTED_FILE, corpus_files, run_corpus
from tickets.choices import Direction
from tickets.models import Message

pytestmark = pytest.mark.django_db

ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]{2,8});", re.IGNORECASE)


def test_every_corpus_message_has_a_reviewed_expectation():
    expected = json.loads(EXPECTED_FILE.read_text())
    assert sorted(expected) == corpus_files()
    assert len(expected) >= 300
    sources = {name.split("/")[0] for name in expected}
    for source in sources:  # each source's origin and licence are recorded beside it
        assert (CORPUS_DIR / source / "LICENSE").exists()
        assert f"`{source}/`" in (CORPUS_DIR / "README.md").read_text()


@pytest.mark.slow
def test_the_corpus_ends_as_expected_and_nothing_automatic_goes_to_machines(
    smtp_server, run_tasks, django_capture_on_commit_callbacks
):
    """About 18 s on SQLite and 25 s on PostgreSQL, up to 30 s on a loaded machine (303
    mails, each in its own transaction as delivered, with triage and acknowledgements):
    the whole corpus is the point."""
    expected = json.loads(EXPECTED_FILE.read_text())
    with django_capture_on_commit_callbacks(execute=True):
        run = run_corpus()
    run_tasks()
    wrong = {
        name: f"expected {want['outcome']}, got {run.outcomes[name][0]}: {run.outcomes[name][1]}"
        for name, want in expected.items()
        if run.outcomes[name][0] != want["outcome"]
        or want.get("reason", "") not in run.outcomes[name][1]
    }
    assert wrong == {}
    assert run.machine_replies == []
    # What really left: no mail to the sender of a bounce or of machine mail.
    machine = {
        r.sender.lower()
        for r in InboundEmail.objects.filter(status__in=["bounce", "ignored"])
        if r.sender
    }
    people = set(
        Message.objects.filter(direction=Direction.INBOUND).values_list(
            "ticket__requester__email", flat=True
        )
    )
    sent_to = {str(m["To"]).lower() for m in smtp_server.messages}
    assert sent_to & (machine - people) == set()
    # Every ticket has the customer's text, never HTML entities.
    for message in Message.objects.filter(direction=Direction.INBOUND):
        assert not ENTITY_RE.search(message.body_text), message.body_text[:200]


@pytest.mark.parametrize("name", corpus_files())
def test_no_corpus_text_keeps_html_entities(name):
    try:
        parsed = parse_email((CORPUS_DIR / name).read_bytes())
    except ValueError:
        return  # quarantined: checked above
    assert not ENTITY_RE.search(parsed.text)
    if parsed.html.strip():
        assert parsed.text.strip() or not re.search(r">\s*\w", parsed.html)
