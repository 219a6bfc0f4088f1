"""Reading the support mailbox over IMAP (imapclient), into the same intake as every
other source.

Order of work for each message, so that a crash or a dropped connection at any point
loses nothing and doubles nothing:

1. fetch the raw bytes (BODY.PEEK[], so the server does not mark it read yet), a group
   of messages at a time;
2. ``ingest_many`` stores and processes each, and the group's last UID is recorded as
   done (``ImapMailboxState.last_uid``), all in one transaction;
3. only after that commit are the messages marked \\Seen (or moved) on the server.

A crash before the commit leaves nothing stored and the UID where it was: the group is
read again. A crash between 2 and 3 leaves the group unmarked on the server; the next
pass marks every committed but unmarked message before reading new ones.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, transaction
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.resilience import OUTAGE_ERRORS, drop_connection, outage_log
from mail.intake import ingest_many
from mail.models import ImapMailboxState, InboundEmail, InboundStatus

logger = logging.getLogger(__name__)

SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"
# Errors after which the connection is thrown away and made again, after a pause.
CONNECTION_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, EOFError)


@dataclass
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    use_ssl: bool = True
    folder: str = "INBOX"
    processed_folder: str = ""  # empty: leave in the folder, flagged \Seen
    max_message_bytes: int = 60 * 1024 * 1024
    timeout: float = 30.0
    batch_size: int = 50
    batch_bytes: int = 20 * 1024 * 1024

    @classmethod
    def from_django(cls, **overrides: object) -> ImapSettings:
        values: dict[str, object] = {
            "host": settings.IZONIE_IMAP_HOST,
            "port": settings.IZONIE_IMAP_PORT,
            "username": settings.IZONIE_IMAP_USER,
            "password": settings.IZONIE_IMAP_PASSWORD,
            "use_ssl": settings.IZONIE_IMAP_SSL,
            "folder": settings.IZONIE_IMAP_FOLDER,
            "processed_folder": settings.IZONIE_IMAP_PROCESSED_FOLDER,
            "max_message_bytes": settings.IZONIE_IMAP_MAX_MESSAGE_BYTES,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def mailbox_key(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:300]


@dataclass
class Backoff:
    """Pause between reconnection attempts: doubling from ``first`` up to ``longest``,
    back to ``first`` once a connection works again."""

    first: float = 1.0
    longest: float = 300.0
    current: float = field(init=False, default=0.0)

    def next_delay(self) -> float:
        self.current = self.first if not self.current else min(self.current * 2, self.longest)
        # Between half and all of the step, so that fetchers (and workers) that lost the
        # same server do not all come back in the same instant.
        return random.uniform(self.current / 2, self.current)

    def reset(self) -> None:
        self.current = 0.0


class ImapFetcher:
    def __init__(self, config: ImapSettings, *, backoff: Backoff | None = None) -> None:
        self.config = config
        self.backoff = backoff or Backoff()
        self.client: IMAPClient | None = None
        self.can_idle = False

    # --- The connection

    def connect(self) -> IMAPClient:
        if self.client is not None:
            return self.client
        config = self.config
        client = IMAPClient(
            config.host, port=config.port, ssl=config.use_ssl, timeout=config.timeout
        )
        try:
            client.login(config.username, config.password)
            if config.processed_folder and not client.folder_exists(config.processed_folder):
                client.create_folder(config.processed_folder)
            client.select_folder(config.folder)
        except BaseException:
            self._close(client)
            raise
        self.client = client
        self.can_idle = client.has_capability("IDLE")
        logger.info("IMAP connected to %s", config.mailbox_key)
        return client

    def disconnect(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            self._close(client)

    @staticmethod
    def _close(client: IMAPClient) -> None:
        try:
            client.logout()
        except Exception:  # the connection may be gone already; nothing to save
            with contextlib.suppress(Exception):
                client.shutdown()

    # --- One pass over the folder

    def _state(self, client: IMAPClient) -> ImapMailboxState:
        # Selected again on every pass: it refreshes the server's view of the folder.
        info = client.select_folder(self.config.folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        state, _ = ImapMailboxState.objects.get_or_create(mailbox=self.config.mailbox_key)
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity:
                logger.warning(
                    "UIDVALIDITY of %s changed from %s to %s: reading it again from the "
                    "start (already stored mail is recognised as duplicates)",
                    self.config.mailbox_key,
                    state.uidvalidity,
                    uidvalidity,
                )
            state.uidvalidity = uidvalidity
            state.last_uid = 0
            state.save()
        return state

    def _mark_done(self, client: IMAPClient, uids: list[int]) -> None:
        if not uids:
            return
        if self.config.processed_folder:
            client.move(uids, self.config.processed_folder)
        else:
            client.add_flags(uids, [SEEN], silent=True)

    def _committed_but_unmarked(self, client: IMAPClient, state: ImapMailboxState) -> list[int]:
        if not state.last_uid:
            return []
        criteria: list[object] = ["UID", f"1:{state.last_uid}"]
        if not self.config.processed_folder:
            criteria.append("UNSEEN")
        return [uid for uid in client.search(criteria) if uid <= state.last_uid]

    def _too_large(self, client: IMAPClient, uid: int, size: int) -> InboundEmail:
        """Record a message too big to take in whole: its headers, quarantined with the
        reason; the message is flagged and left on the server for an admin."""
        headers = client.fetch([uid], [b"BODY.PEEK[HEADER]"])[uid].get(b"BODY[HEADER]", b"")
        return InboundEmail.objects.create(
            raw=headers,
            source="imap",
            status=InboundStatus.QUARANTINED,
            reason=(
                f"{size:,} bytes is over the {self.config.max_message_bytes:,}-byte limit; "
                f"only the headers were kept, the message is left on the server "
                f"({self.config.folder}, UID {uid}, flagged)"
            ),
        )

    def _groups(self, client: IMAPClient, uids: list[int]) -> list[list[tuple[int, int]]]:
        """(uid, size) in groups of at most ``batch_size`` messages and about
        ``batch_bytes``: one FETCH and one commit per group, memory bounded by it."""
        groups: list[list[tuple[int, int]]] = []
        for start in range(0, len(uids), self.config.batch_size):
            chunk = uids[start : start + self.config.batch_size]
            sizes = client.fetch(chunk, [b"RFC822.SIZE"])
            group: list[tuple[int, int]] = []
            group_bytes = 0
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if group and group_bytes + size > self.config.batch_bytes:
                    groups.append(group)
                    group, group_bytes = [], 0
                group.append((uid, size))
                group_bytes += size
            if group:
                groups.append(group)
        return groups

    def fetch_new(self) -> list[InboundEmail]:
        """Store every message not stored yet, oldest first; returns their records."""
        client = self.connect()
        state = self._state(client)
        self._mark_done(client, self._committed_but_unmarked(client, state))
        # "n:*" always matches the highest UID, even when it is below n.
        uids = sorted(
            uid for uid in client.search(["UID", f"{state.last_uid + 1}:*"]) if uid > state.last_uid
        )
        records: list[InboundEmail] = []
        for group in self._groups(client, uids):
            wanted = [uid for uid, size in group if size <= self.config.max_message_bytes]
            bodies = client.fetch(wanted, [b"BODY.PEEK[]"]) if wanted else {}
            done: list[int] = []
            too_large: list[int] = []
            # One transaction for the group: one commit instead of one per message
            # (each mail still has its own savepoint, so one failure spoils nothing else).
            with transaction.atomic():
                raws: list[bytes] = []
                for uid, size in group:
                    if size > self.config.max_message_bytes:
                        records.append(self._too_large(client, uid, size))
                        too_large.append(uid)
                    elif uid in bodies:  # else expunged meanwhile by another client
                        raws.append(bodies.pop(uid)[b"BODY[]"])
                        done.append(uid)
                # The group's mails together: a few look-ups and writes for all of them.
                records += ingest_many(raws, source="imap")
                state.last_uid = group[-1][0]
                state.save(update_fields=["last_uid", "updated_at"])
            # Committed: only now does the server hear of it.
            self._mark_done(client, done)
            if too_large:
                client.add_flags(too_large, [FLAGGED], silent=True)
        return records

    # --- Waiting for more

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for new mail: IDLE when the server offers it,
        otherwise a plain pause then NOOP (polling). True when the server said
        something arrived (a hint only; the next pass reads by UID anyway)."""
        client = self.connect()
        if not self.can_idle:
            time.sleep(timeout)
            return any(kind == b"EXISTS" for _n, kind in _pairs(client.noop()[1]))
        client.idle()
        try:
            responses = client.idle_check(timeout=timeout)
        finally:
            client.idle_done()
        return any(len(r) > 1 and r[1] == b"EXISTS" for r in responses)

    # --- The long-running loop

    def run(
        self,
        *,
        should_stop: Callable[[], bool],
        idle_seconds: float = 60.0,
        on_records: Callable[[list[InboundEmail]], None] | None = None,
        between_passes: Callable[[], None] | None = None,
    ) -> None:
        """Fetch, wait, repeat until ``should_stop()``; reconnect after any connection
        error with back-off. Mail is never marked on the server before it is stored."""
        while not should_stop():
            try:
                records = self.fetch_new()
                self.backoff.reset()
                if records and on_records:
                    on_records(records)
                if should_stop():
                    break
                self.wait(idle_seconds)
            except OUTAGE_ERRORS as exc:
                # The database went away: logged once per outage (core.resilience), and
                # retried with back-off; the IMAP connection is kept.
                outage_log.failed(exc, who=f"IMAP {self.config.mailbox_key}")
                drop_connection()
                _sleep_unless(should_stop, self.backoff.next_delay())
            except (*CONNECTION_ERRORS, DatabaseError) as exc:
                # Nothing is marked on the server before its commit, so after either
                # kind of failure the next pass simply reads the same mail again.
                self.disconnect()
                delay = self.backoff.next_delay()
                logger.warning(
                    "IMAP %s: %s; reconnecting in %.1f s", self.config.mailbox_key, exc, delay
                )
                _sleep_unless(should_stop, delay)
            else:
                outage_log.recovered()
            finally:
                if between_passes:
                    try:
                        between_passes()
                    except OUTAGE_ERRORS:
                        drop_connection()
        self.disconnect()


def _pairs(untagged: list[object]) -> list[tuple[object, object]]:
    pairs = []
    for item in untagged:
        if isinstance(item, tuple) and len(item) > 1:
            pairs.append((item[0], item[1]))
    return pairs


def _sleep_unless(should_stop: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
