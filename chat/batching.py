"""The relay's batches: chat messages that arrive on a process's sockets within a few
milliseconds of each other are written together.

A socket's handler queues its message and waits. One task per event loop takes what
has arrived (the first message waits ``WINDOW_SECONDS`` for company; up to
``MAX_BATCH`` at a time), hands the whole batch to the chat's database thread once
(``services.chat_messages_store``: one transaction, one commit), and only then gives
each handler its message's result, so an acknowledgement always follows the commit. The
frames to the chats' groups are relayed on that commit too. While a batch is with the
database, the next one gathers, so under load batches grow by themselves and the cost
of the commit, the locks and the statements is shared.

A batch that fails as a whole is retried message by message by the service, so one bad
message is answered with its own error and the others are stored.
"""

from __future__ import annotations

import asyncio
import weakref

from chat import services
from chat.db import db
from tickets.write_path import Outcome

WINDOW_SECONDS = 0.002
MAX_BATCH = 100

_Waiting = tuple[services.MessageIn, "asyncio.Future[Outcome[services.Stored]]"]


class _Batcher:
    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.task: asyncio.Task[None] | None = None


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = (
    weakref.WeakKeyDictionary()
)


async def message_store(item: services.MessageIn) -> Outcome[services.Stored]:
    """Store one message with whatever else arrives meanwhile; its result once the
    batch is committed. Raises only if the batch's database call failed as a whole."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = _Batcher()
    future: asyncio.Future[Outcome[services.Stored]] = loop.create_future()
    batcher.waiting.append((item, future))
    if batcher.task is None:
        # One task per loop, ending when nothing is left (so none outlives a test's loop).
        batcher.task = loop.create_task(_drain(batcher))
    return await future


async def _drain(batcher: _Batcher) -> None:
    try:
        await asyncio.sleep(WINDOW_SECONDS)
        while batcher.waiting:
            batch, batcher.waiting = batcher.waiting[:MAX_BATCH], batcher.waiting[MAX_BATCH:]
            try:
                outcomes = await db(services.chat_messages_store)([item for item, _ in batch])
            except asyncio.CancelledError:
                for _item, future in batch:
                    future.cancel()
                raise
            except Exception as exc:
                for _item, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_item, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
            # What the sockets read in this turn of the loop joins the next batch.
            await asyncio.sleep(0)
    finally:
        batcher.task = None
        # Cancelled (the loop is closing): nobody is left waiting for an answer.
        for _item, future in batcher.waiting:
            if not future.done():
                future.cancel()
        batcher.waiting = []
