"""Running the real-world corpus (mail/tests/corpus) through intake: shared by
``test_corpus`` and ``bench/mail_ingest.py --corpus``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
EXPECTED_FILE = CORPUS_DIR / "expected.json"
_NOT_MAIL = {"LICENSE", "NOTICE", "README.md", "expected.json"}


def corpus_files() -> list[str]:
    """Every message of the corpus, by its path under the corpus directory, in the
    order they are delivered (sorted: the same order every run)."""
    return sorted(
        str(path.relative_to(CORPUS_DIR))
        for path in CORPUS_DIR.rglob("*")
        if path.is_file() and path.name not in _NOT_MAIL
    )


def outcome_of(status: str, reason: str) -> str:
    """The outcome class of an intake record: ticket, bounce, machine, duplicate,
    ignored (our own mail, a blocked sender) or quarantined."""
    if status == "processed":
        return "ticket"
    if status == "ignored":
        return "machine" if reason.startswith("machine-sent") else "ignored"
    return str(status)


@dataclass
class CorpusRun:
    # Path → (outcome class, the record's reason).
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Automatic messages (acknowledgements, order-number requests...) meant for a
    # machine sender and not refused: (address, first line of the message).
    machine_replies: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for outcome, _reason in self.outcomes.values():
            found[outcome] = found.get(outcome, 0) + 1
        return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def run_corpus() -> CorpusRun:
    """Deliver every corpus message once, in order, as the intake receives mail; then
    list the automatic messages that would go to machine senders (the senders of bounces
    and machine mail, and the addresses RFC 3834 says nobody reads). Needs a database
    (and the caller's transaction handling: a test's, or a benchmark's own database)."""
    from mail.autoreply import auto_reply_refused
    from mail.intake import ingest_raw
    from tickets.choices import DeliveryStatus, Direction
    from tickets.models import Message

    run = CorpusRun()
    machine_senders: set[str] = set()
    people: set[str] = set()
    for name in corpus_files():
        record = ingest_raw(raw=(CORPUS_DIR / name).read_bytes(), source="corpus")
        outcome = outcome_of(record.status, record.reason)
        run.outcomes[name] = (outcome, record.reason)
        if outcome in ("bounce", "machine") and record.sender:
            machine_senders.add(record.sender.lower())
        elif outcome == "ticket":
            people.add(record.sender.lower())
    automatic = (
        Message.objects.filter(direction=Direction.OUTBOUND, author__isnull=True)
        .exclude(outbound__status=DeliveryStatus.FAILED)
        .select_related("ticket__requester")
    )
    for message in automatic:
        address = message.ticket.requester.email.lower()
        # An address that also wrote as a person (a ticket of its own) may be answered.
        if (address in machine_senders and address not in people) or auto_reply_refused(address):
            run.machine_replies.append((address, message.body_text.split("\n", 1)[0]))
    return run
