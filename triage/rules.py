"""The policy's triage rules: keywords and patterns per category, compiled once per policy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.schema import SupportPolicy


@dataclass(frozen=True)
class CategoryRules:
    key: str
    matchers: tuple[re.Pattern[str], ...]

    def hits(self, text: str) -> int:
        return sum(1 for matcher in self.matchers if matcher.search(text))


def _keyword_matcher(keyword: str) -> re.Pattern[str]:
    # Whole words only ("card" must not match "discarded"), any run of spaces between words.
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


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
        )
        for category in policy.categories
    )
    _COMPILED[id(policy)] = (policy, rules)
    return rules


def rule_scores(*, policy: SupportPolicy, text: str) -> dict[str, float]:
    """Each category's share of the rule hits in ``text``; empty when no rule matches."""
    hits = {rules.key: rules.hits(text) for rules in compiled_rules(policy)}
    total = sum(hits.values())
    if not total:
        return {}
    return {key: count / total for key, count in hits.items() if count}
