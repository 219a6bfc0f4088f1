"""The IMAP fetcher against a real Dovecot on loopback (see imap_server.py)."""

import os
import threading
import time

import pytest
from django.core.management import call_command
from imapclient import IMAPClient

from mail.imap import SEEN, Backoff, ImapFetcher, ImapSettings
from mail.models import ImapMailboxState, InboundEmail, InboundStatus
from mail.tests.imap_server import DOVECOT, Dovecot
from mail.tests.test_intake import mail
from tickets.models import Message, Ticket

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        # Never skipped in CI, where scripts/test installs it: a missing Dovecot fails.
        not os.path.exists(DOVECOT) and not os.environ.get("CI"),
        reason="Dovecot is installed by scripts/test (dovecot-imapd)",
    ),
]


@pytest.fixture
def dovecot():
    server = Dovecot()
    server.start()
    yield server
    server.cleanup()


def mailbox(server: Dovecot) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=10)
    client.login(server.user, server.password)
    return client


def deliver(server: Dovecot, *messages: bytes, folder: str = "INBOX") -> None:
    with mailbox(server) as client:
        for raw in messages:
            client.append(folder, raw)


def server_flags(server: Dovecot, folder: str = "INBOX") -> dict[int, tuple]:
    with mailbox(server) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search()
        if not uids:
            return {}
        return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()}


def settings_for(server: Dovecot, **extra) -> ImapSettings:
    return ImapSettings(
        host="127.0.0.1",
        port=server.port,
        username=server.user,
        password=server.password,
        use_ssl=False,
        timeout=5,
        **extra,
    )


def test_new_mail_is_stored_then_marked_seen_and_read_only_once(dovecot):
    deliver(
        dovecot,
        mail(),
        mail(message_id="<m2@example.com>", In_Reply_To="<m1@example.com>"),
        mail(sender="bisi@example.com", message_id="<b1@example.com>", subject="Refund"),
    )
    fetcher = ImapFetcher(settings_for(dovecot))
    records = fetcher.fetch_new()
    assert [r.status for r in records] == [InboundStatus.PROCESSED] * 3
    assert {r.source for r in records} == {"imap"}
    assert Ticket.objects.count() == 2  # the second mail threaded onto the first
    assert all(SEEN in flags for flags in server_flags(dovecot).values())
    state = ImapMailboxState.objects.get()
    assert state.last_uid == 3 and state.uidvalidity > 0
    assert fetcher.fetch_new() == []
    fetcher.disconnect()
    # A restarted fetcher remembers where it was, from the database.
    deliver(dovecot, mail(sender="c@example.com", message_id="<c1@example.com>"))
    restarted = ImapFetcher(settings_for(dovecot))
    assert [r.header_id for r in restarted.fetch_new()] == ["c1@example.com"]
    restarted.disconnect()
    assert InboundEmail.objects.count() == 4


def test_processed_mail_can_be_moved_to_another_folder(dovecot):
    deliver(dovecot, mail())
    fetcher = ImapFetcher(settings_for(dovecot, processed_folder="Processed"))
    assert len(fetcher.fetch_new()) == 1
    fetcher.disconnect()
    assert server_flags(dovecot) == {}
    assert len(server_flags(dovecot, "Processed")) == 1


def test_a_crash_after_storing_but_before_marking_neither_loses_nor_doubles(dovecot):
    deliver(dovecot, mail(), mail(message_id="<m2@example.com>"))
    fetcher = ImapFetcher(settings_for(dovecot))
    fetcher.fetch_new()
    fetcher.disconnect()
    # As if the process died after committing but before the server heard of it:
    # the messages are unread on the server again.
    with mailbox(dovecot) as client:
        client.select_folder("INBOX")
        client.remove_flags(client.search(), [SEEN])
    again = ImapFetcher(settings_for(dovecot))
    assert again.fetch_new() == []  # nothing read twice...
    assert all(SEEN in f for f in server_flags(dovecot).values())  # ...but now marked
    # And if it died even before recording the UID, the message is read again and
    # recognised as a duplicate.
    ImapMailboxState.objects.update(last_uid=0)
    with mailbox(dovecot) as client:
        client.select_folder("INBOX")
        client.remove_flags(client.search(), [SEEN])
    records = again.fetch_new()
    again.disconnect()
    assert [r.status for r in records] == [InboundStatus.DUPLICATE] * 2
    assert Message.objects.filter(direction="in").count() == 2


def test_a_new_uidvalidity_starts_over_without_doubling(dovecot):
    deliver(dovecot, mail(), folder="INBOX")
    with mailbox(dovecot) as client:
        client.create_folder("Support")
    deliver(dovecot, mail(), folder="Support")
    fetcher = ImapFetcher(settings_for(dovecot, folder="Support"))
    fetcher.fetch_new()
    fetcher.disconnect()
    old = ImapMailboxState.objects.get()
    with mailbox(dovecot) as client:  # the folder is recreated: a new UIDVALIDITY
        client.delete_folder("Support")
        client.create_folder("Support")
    deliver(dovecot, mail(), mail(message_id="<m2@example.com>"), folder="Support")
    records = ImapFetcher(settings_for(dovecot, folder="Support")).fetch_new()
    state = ImapMailboxState.objects.get()
    assert state.uidvalidity != old.uidvalidity and state.last_uid == 2
    assert [r.status for r in records] == [InboundStatus.DUPLICATE, InboundStatus.PROCESSED]


def test_idle_wakes_up_when_mail_arrives(dovecot):
    fetcher = ImapFetcher(settings_for(dovecot))
    assert fetcher.fetch_new() == []
    assert fetcher.can_idle
    timer = threading.Timer(0.5, deliver, args=(dovecot, mail()))
    timer.start()
    started = time.monotonic()
    assert fetcher.wait(timeout=20) is True
    assert time.monotonic() - started < 10  # woken by the server, not the timeout
    timer.join()
    assert [r.header_id for r in fetcher.fetch_new()] == ["m1@example.com"]
    fetcher.disconnect()


def test_without_idle_it_polls(dovecot):
    fetcher = ImapFetcher(settings_for(dovecot))
    fetcher.fetch_new()
    fetcher.can_idle = False  # as with a server that does not offer IDLE
    deliver(dovecot, mail())
    assert fetcher.wait(timeout=0.2) is True
    assert len(fetcher.fetch_new()) == 1
    fetcher.disconnect()


def test_the_fetcher_reconnects_after_the_server_drops_it(dovecot):
    deliver(dovecot, mail())
    fetcher = ImapFetcher(settings_for(dovecot), backoff=Backoff(first=0.1, longest=0.5))
    fetcher.fetch_new()
    stored = []
    restarted = threading.Event()

    def drop_and_come_back():
        dovecot.stop()  # every open connection is cut
        time.sleep(0.5)  # the fetcher fails to reconnect meanwhile and backs off
        dovecot.start()
        deliver(dovecot, mail(sender="late@example.com", message_id="<late@example.com>"))
        restarted.set()

    worker = threading.Timer(0.3, drop_and_come_back)
    worker.start()
    deadline = time.monotonic() + 30
    fetcher.run(
        should_stop=lambda: bool(stored) or time.monotonic() > deadline,
        idle_seconds=1,
        on_records=stored.extend,
    )
    worker.join()
    assert restarted.is_set()
    assert [r.header_id for r in stored] == ["late@example.com"]
    assert fetcher.backoff.current == 0  # back to normal after the reconnection
    assert InboundEmail.objects.count() == 2


def test_a_message_over_the_size_limit_is_recorded_and_left_on_the_server(dovecot):
    big = mail(body="x" * 5000)
    deliver(dovecot, big, mail(message_id="<m2@example.com>"))
    fetcher = ImapFetcher(settings_for(dovecot, max_message_bytes=4000))
    records = fetcher.fetch_new()
    fetcher.disconnect()
    assert records[0].status == InboundStatus.QUARANTINED
    assert "over the 4,000-byte limit" in records[0].reason
    assert bytes(records[0].raw).startswith(b"From: ")
    assert records[1].status == InboundStatus.PROCESSED  # the mail behind it is not held up
    flags = server_flags(dovecot)
    assert b"\\Flagged" in flags[1] and SEEN not in flags[1] and SEEN in flags[2]


def test_fetch_mail_command_once(dovecot, settings, capsys):
    deliver(dovecot, mail())
    settings.IZONIE_IMAP_PASSWORD = dovecot.password
    call_command(
        "fetch_mail",
        "--once",
        "--no-ssl",
        "--host=127.0.0.1",
        f"--port={dovecot.port}",
        f"--user={dovecot.user}",
    )
    assert "processed" in capsys.readouterr().out
    assert Ticket.objects.count() == 1
