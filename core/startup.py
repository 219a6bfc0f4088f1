"""Once a server process has loaded everything, keep its startup objects out of the
cyclic garbage collector's way."""

from __future__ import annotations

import gc

from django.apps import apps
from django.urls import get_resolver


def freeze_startup_objects() -> None:
    """Import every view now, let each app load what it loads lazily elsewhere (an app
    config's ``startup_load``: the triage and conduct models, which short commands and
    tests never import), and move all the objects that exist to the collector's permanent
    generation (``gc.freeze``).

    Why: a loaded process holds a few hundred thousand long-lived objects (Django, the
    apps, the policy, the triage model), and every full collection walked all of them.
    Measured on the social webhook at 500 requests/s: full collections of 130-180 ms
    every few seconds, each one stalling every request in flight, which was the whole
    p99. These objects live as long as the process, so the collector has nothing to
    find among them.
    """
    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view module
    for config in apps.get_app_configs():
        load = getattr(config, "startup_load", None)
        if load is not None:
            load()
    gc.collect()
    gc.freeze()
