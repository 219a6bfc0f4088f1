"""A server loads the offensive-language model while it starts, not on its first message."""

from __future__ import annotations

import logging

from conduct import screening


def test_a_server_loads_the_screening_model_before_freezing_its_startup_objects(monkeypatch):
    from core.startup import freeze_startup_objects

    loaded_when_frozen: list[int] = []
    monkeypatch.setattr(
        "core.startup.gc.freeze",
        lambda: loaded_when_frozen.append(screening._direct_scorer.cache_info().currsize),
    )
    screening._direct_scorer.cache_clear()
    freeze_startup_objects()
    assert loaded_when_frozen == [1]
    assert 0.0 <= screening.model_probability("Thanks, that helped.") < 0.5


def test_a_model_that_fails_to_load_never_stops_the_server(monkeypatch, caplog):
    def broken(text: str) -> float:
        raise OSError("model file missing")

    monkeypatch.setattr(screening, "model_probability", broken)
    with caplog.at_level(logging.WARNING, logger="conduct.screening"):
        screening.model_preload()
    assert "Conduct screening model not loaded at start-up" in caplog.text
