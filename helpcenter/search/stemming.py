"""Snowball (Porter 2) stems of English words, as the ranking and the correction compare
them: "returning", "returned" and "returns" are all "return"."""

from __future__ import annotations

import functools

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)
