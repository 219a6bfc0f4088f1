"""Snowball (Porter 2) stems of English words, as the ranking and the correction compare
them: "returning", "returned" and "returns" are all "return"."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _stemmer() -> Any:
    # snowballstemmer's package imports the stemmers of all its 30 languages: with the
    # first search, not with every process's start.
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)
