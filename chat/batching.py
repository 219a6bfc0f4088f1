"""The relay's batches: chat messages that arrive on a process's sockets within a few
milliseconds of each other are written together.

A socket's handler queues its message and waits. A writer task takes what
has arrived (the first message waits ``WINDOW_SECONDS`` for company; up to
``MAX_BATCH`` at a time), hands the whole batch to the chat's database thread once
(``services.chat_messages_store``: one transaction, one commit), and only then gives
each handler its message's result, so an acknowledgement always follows the commit. The
frames to the chats' groups are relayed on that commit too. There are as many writers as
the chat has database threads (``IZONIE_CHAT_DB_THREADS``); while they are all busy
with the database the next batch gathers, so under load batches grow by themselves and
the cost of the commits, the locks and the statements is shared. Concurrent batches
lock their chats' rows in the order of their ids, so they never wait for each other in
a circle.

A batch that fails as a whole is retried message by message by the service, so one bad
message is answered with its own error and the others are stored.

Chat starts are written the same way (``start_store``: ``services.chat_starts``, the
tickets, sessions and first entries of the starts arriving together in one
transaction), and offered to agents after they are answered: one round of offers for
all the chats the process opened meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings

from chat import services
from chat.db import db
from tickets.write_path import Outcome

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 0.002
MAX_BATCH = 100

In = TypeVar("In")
R = TypeVar("R")


class _Batcher(Generic[In, R]):
    """The items of one kind waiting on one event loop, and the tasks writing them with
    ``store`` (a service taking a batch and returning one outcome per item)."""

    def __init__(self, store: Callable[[list[In]], list[Outcome[R]]]) -> None:
        self.store = store
        self.waiting: list[tuple[In, asyncio.Future[Outcome[R]]]] = []
        self.writers: set[asyncio.Task[None]] = set()


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Batcher[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def message_store(item: services.MessageIn) -> Outcome[services.Stored]:
    """Store one message with whatever else arrives meanwhile; its result once the
    batch is committed. Raises only if the batch's database call failed as a whole."""
    return await _queued("messages", services.chat_messages_store, item)


async def start_store(item: services.StartIn) -> Outcome[services.Started]:
    """Open one chat with the other starts arriving meanwhile
    (``services.chat_starts``); its result once the batch is committed."""
    return await _queued("starts", services.chat_starts, item)


async def _queued(kind: str, store: Callable[[list[In]], list[Outcome[R]]], item: In) -> Outcome[R]:
    loop = asyncio.get_running_loop()
    kinds = _batchers.get(loop)
    if kinds is None:
        kinds = _batchers[loop] = {}
    batcher: _Batcher[In, R] | None = kinds.get(kind)
    if batcher is None:
        batcher = kinds[kind] = _Batcher(store)
    future: asyncio.Future[Outcome[R]] = loop.create_future()
    batcher.waiting.append((item, future))
    # As many batches at once as the chat has database threads (one on SQLite, which
    # writes one transaction at a time anyway): their waits on the database overlap.
    # Writers end when nothing is left (so none outlives a test's loop).
    if len(batcher.writers) < max(1, settings.IZONIE_CHAT_DB_THREADS):
        writer = loop.create_task(_write(batcher))
        batcher.writers.add(writer)
        writer.add_done_callback(batcher.writers.discard)
    return await future


async def _write(batcher: _Batcher[In, R]) -> None:
    batch: list[tuple[In, asyncio.Future[Outcome[R]]]] = []
    try:
        await asyncio.sleep(WINDOW_SECONDS)
        while batcher.waiting:
            batch, batcher.waiting = batcher.waiting[:MAX_BATCH], batcher.waiting[MAX_BATCH:]
            try:
                outcomes = await db(batcher.store)([item for item, _ in batch])
            except Exception as exc:
                for _item, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_item, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
            batch = []
            # What the sockets read in this turn of the loop joins the next batch.
            await asyncio.sleep(0)
    finally:
        # Cancelled (the loop is closing): nobody is left waiting for an answer.
        if not batcher.writers - {asyncio.current_task()}:
            batch += batcher.waiting
            batcher.waiting = []
        for _item, future in batch:
            if not future.done():
                future.cancel()


# --- Offers after starts: one round of offers for the chats opened meanwhile


class _Offers:
    def __init__(self) -> None:
        self.due = False
        self.task: asyncio.Task[None] | None = None


_offers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Offers] = weakref.WeakKeyDictionary()


def assign_soon() -> None:
    """Offer the waiting chats to agents (``services.chat_assign_waiting``) after the
    starts now in progress have been answered: the offer is not part of the answer, and
    a rush of starts shares one round (it reads the queue and the agents' loads once)."""
    loop = asyncio.get_running_loop()
    offers = _offers.get(loop)
    if offers is None:
        offers = _offers[loop] = _Offers()
    offers.due = True
    if offers.task is None:
        offers.task = loop.create_task(_offer_rounds(offers))


async def _offer_rounds(offers: _Offers) -> None:
    try:
        while offers.due:
            await asyncio.sleep(WINDOW_SECONDS)
            offers.due = False
            try:
                await db(services.chat_assign_waiting)()
            except Exception:
                # The next start, presence change or ended chat offers them again.
                logger.exception("Offering the waiting chats failed")
    finally:
        offers.task = None
