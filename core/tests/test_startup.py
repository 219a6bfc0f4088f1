"""The server process freezes what it loaded at startup out of the garbage collector's
full collections (core.startup)."""

from __future__ import annotations

import gc
import sys


def test_loading_the_server_app_freezes_the_startup_objects_with_every_view_imported():
    import config.asgi  # noqa: F401 - what uvicorn loads

    # Hundreds of thousands of objects in a loaded process; a full collection used to walk
    # them all (130-180 ms each under load on this machine).
    assert gc.get_freeze_count() > 100_000
    # The URLconf was imported before the freeze, so the views are frozen too.
    assert "social.webhooks" in sys.modules
    assert "config.urls" in sys.modules
