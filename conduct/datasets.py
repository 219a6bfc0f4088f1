"""The hand-written message sets the screening is measured on (tests and benchmark)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def civil_messages() -> list[str]:
    """Angry but civil: none of these may be flagged."""
    return _lines("civil.txt")


def abusive_messages() -> list[str]:
    """Abusive, many obfuscated: all of these should be flagged."""
    return _lines("abusive.txt")
