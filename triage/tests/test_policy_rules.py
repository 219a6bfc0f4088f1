"""Triage rules live in the policy file: validated at load, matched as whole words."""

import copy
import re

import pytest
import yaml
from django.conf import settings

from policy.loader import PolicyError, get_policy, parse_policy
from triage.rules import compiled_rules, folded, rule_scores


def _policy_data():
    return yaml.safe_load(settings.IZONIE_POLICY_FILE.read_text())


def test_the_shipped_policy_has_rules_for_every_category():
    policy = get_policy()
    for category in policy.categories:
        assert category.triage_keywords or category.triage_patterns, category.key
    assert 0 < policy.triage.confidence_threshold < 1


def test_a_pattern_that_is_not_a_regular_expression_is_refused_naming_the_field():
    data = _policy_data()
    data["categories"][1]["triage_patterns"] = [r"\bdebit", "(unclosed"]
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.startswith("categories[1].triage_patterns[1]: '(unclosed' is not a regular")
    assert "missing )" in problem


def test_a_blank_keyword_is_refused():
    data = _policy_data()
    data["categories"][0]["triage_keywords"] = ["tracking", "  "]
    with pytest.raises(PolicyError, match=r"categories\[0\]\.triage_keywords\[1\]: a keyword"):
        parse_policy(data)


def test_a_threshold_outside_zero_to_one_is_refused():
    data = _policy_data()
    data["triage"]["confidence_threshold"] = 1.5
    with pytest.raises(PolicyError, match=r"triage\.confidence_threshold"):
        parse_policy(data)


def test_a_policy_without_triage_settings_gets_the_defaults():
    data = copy.deepcopy(_policy_data())
    del data["triage"]
    del data["returns"]
    for category in data["categories"]:
        category.pop("triage_keywords", None)
        category.pop("triage_patterns", None)
    policy = parse_policy(data)
    assert policy.triage.confidence_threshold == 0.6
    assert policy.returns.window.minutes == 7 * 24 * 60
    assert rule_scores(policy=policy, text="where is my order") == {}


def test_keywords_match_whole_words_only():
    policy = get_policy()
    # "card" is a Payments keyword; "discarded" must not count as it.
    assert "payments" not in rule_scores(policy=policy, text="i discarded the box")
    assert rule_scores(policy=policy, text="my card was declined")["payments"] == 1.0


def test_rule_scores_share_the_hits_between_categories():
    scores = rule_scores(policy=get_policy(), text="refund for my return")
    assert set(scores) == {"payments", "returns"}
    assert sum(scores.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"assignment": "random"}, r"teams\[0\]\.assignment: Input should be 'manual'"),
        ({"capacity": 0}, r"teams\[0\]\.capacity: Input should be greater than 0"),
    ],
)
def test_bad_team_assignment_settings_are_refused(change, problem):
    data = _policy_data()
    data["teams"][0].update(change)
    with pytest.raises(PolicyError, match=problem):
        parse_policy(data)


def test_the_fold_makes_every_character_a_keyword_letter_matches_that_letter():
    """``rules.hits`` skips a keyword whose words are not in the folded text: sound only
    if every character the matchers' IGNORECASE takes for a printable ASCII character
    folds to it (the Turkish dotted and dotless i, the long s, the Kelvin sign...)."""
    anything_ascii = re.compile(r"[!-~]", re.IGNORECASE)
    for code in range(0x110000):
        character = chr(code)
        if 0xD800 <= code < 0xE000 or not anything_ascii.fullmatch(character):
            continue
        fold = folded(character)
        assert len(fold) == 1 and fold.isascii(), hex(code)
        matching = {
            a for a in map(chr, range(0x21, 0x7F)) if re.fullmatch(re.escape(a), character, re.I)
        }
        assert {a.lower() for a in matching} == {fold}, hex(code)


@pytest.mark.parametrize(
    "text",
    [
        "REFUND for my RETURN",
        "my card was DECL\u0130NED",  # a dotted capital I, as a Turkish keyboard types it
        "the app keeps crash\u0131ng",  # a dotless i
        "\u017fhipping never arrived",  # a long s
        "where   is\tmy\norder",
        "i discarded the box",
    ],
)
def test_keywords_are_found_as_the_regular_expressions_alone_find_them(text):
    policy = get_policy()
    hits = {
        rules.key: sum(1 for matcher in rules.matchers if matcher.search(text))
        for rules in compiled_rules(policy)
    }
    total = sum(hits.values())
    expected = {key: count / total for key, count in hits.items() if count} if total else {}
    assert rule_scores(policy=policy, text=text) == expected
