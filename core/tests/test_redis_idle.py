"""A socket idle on the Redis channel layer for 12 s, more than two of channels_redis's
5-second BZPOPMIN waits, still gets the next frame (docs/operations/recovery.md): before
the fix every idle socket died at exactly 5 s. Duration: 12 s plus a process start; marked
slow, and run in CI like every other test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("IZONIE_TEST_IDLE_REDIS_URL", "redis://127.0.0.1:6379/7")
IDLE_SECONDS = 12

# Runs in a process of its own so that the layer is the one config/settings.py builds from
# REDIS_URL, with the connection settings production gets.
IDLE_RECEIVER = """
import asyncio, sys, time
import django
django.setup()
from channels.layers import get_channel_layer

async def main(idle):
    receiver, sender = get_channel_layer(), get_channel_layer()
    channel = await receiver.new_channel()
    waiting = asyncio.ensure_future(receiver.receive(channel))
    await asyncio.sleep(idle)  # nothing arrives meanwhile: the receive just blocks
    if waiting.done():
        waiting.result()  # raises what ended it (a TimeoutError before the fix)
        sys.exit("received something while idle")
    await sender.send(channel, {"type": "ticket.changed", "ticket_id": 7})
    message = await asyncio.wait_for(waiting, timeout=10)
    print("received", message["ticket_id"])

asyncio.run(main(float(sys.argv[1])))
"""


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _redis_up(), reason=f"no Redis at {REDIS_URL}")
def test_a_socket_idle_for_12_seconds_on_redis_still_receives():
    env = {**os.environ, "REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", IDLE_RECEIVER, str(IDLE_SECONDS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=IDLE_SECONDS + 120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("received 7")
