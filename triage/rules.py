"""The policy's triage rules: keywords and patterns per category, compiled once per policy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.schema import SupportPolicy

# What makes a text's characters compare as the matchers' IGNORECASE compares them to
# ASCII, with str.lower() after it: the characters the regular expressions take for an
# ASCII letter that lower() would not make one (tests/test_policy_rules.py checks every
# code point).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def folded(text: str) -> str:
    """``text`` as the keywords' words are looked for in it (``CategoryRules.hits``)."""
    return text.translate(_FOLD).lower()


@dataclass(frozen=True)
class CategoryRules:
    key: str
    matchers: tuple[re.Pattern[str], ...]
    # For each matcher, words (lower-case ASCII) that any text it matches holds, once
    # folded; () when that cannot be told (a pattern, a keyword in other scripts).
    words: tuple[tuple[str, ...], ...] = ()

    def hits(self, text: str, text_folded: str) -> int:
        """The matchers found in ``text`` (``text_folded``: ``folded(text)``). A keyword
        whose words are not all in the text is not searched for: most are not, and a
        search with a look-behind first tries every position of the text (about three
        quarters of the time rules took on a ticket's text)."""
        return sum(
            1
            for matcher, words in zip(self.matchers, self.words, strict=True)
            if all(word in text_folded for word in words) and matcher.search(text)
        )


def _keyword_matcher(keyword: str) -> re.Pattern[str]:
    # Whole words only ("card" must not match "discarded"), any run of spaces between words.
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _keyword_words(keyword: str) -> tuple[str, ...]:
    """The words a text the keyword matches holds once folded: its own, lower-cased, when
    they are ASCII (no other character folds to ASCII but those ``_FOLD`` turns)."""
    words = tuple(word.lower() for word in keyword.split())
    return words if all(word.isascii() for word in words) else ()


# Policies are immutable but not hashable; keyed by identity, holding the policy itself so
# its id cannot be reused while the entry lives.
_COMPILED: dict[int, tuple[SupportPolicy, tuple[CategoryRules, ...]]] = {}


def compiled_rules(policy: SupportPolicy) -> tuple[CategoryRules, ...]:
    cached = _COMPILED.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    if len(_COMPILED) > 8:
        _COMPILED.clear()
    rules = tuple(
        CategoryRules(
            key=category.key,
            matchers=tuple(_keyword_matcher(k) for k in category.triage_keywords)
            + tuple(re.compile(p, re.IGNORECASE) for p in category.triage_patterns),
            words=tuple(_keyword_words(k) for k in category.triage_keywords)
            + tuple(() for _p in category.triage_patterns),
        )
        for category in policy.categories
    )
    _COMPILED[id(policy)] = (policy, rules)
    return rules


def rule_scores(*, policy: SupportPolicy, text: str) -> dict[str, float]:
    """Each category's share of the rule hits in ``text``; empty when no rule matches."""
    text_folded = folded(text)
    hits = {rules.key: rules.hits(text, text_folded) for rules in compiled_rules(policy)}
    total = sum(hits.values())
    if not total:
        return {}
    return {key: count / total for key, count in hits.items() if count}
