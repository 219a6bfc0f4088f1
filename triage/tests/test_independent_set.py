"""Structure of the hand-written independent evaluation set.

The set measures the triage classifier on text it was never trained on, so it is only
useful if every item is well formed: a known category, a known role, no repeated text,
and seller_support always coming from a seller.
"""

from collections import Counter
from pathlib import Path

import pytest
import yaml

SET_PATH = Path(__file__).resolve().parents[1] / "data" / "independent_set.yaml"
CATEGORIES = {
    "order_status",
    "payments",
    "technical_support",
    "returns",
    "seller_support",
    "none",
}
ROLES = {"buyer", "seller", "guest"}


@pytest.fixture(scope="module")
def items() -> list[dict[str, str]]:
    with SET_PATH.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    assert isinstance(loaded, list)
    return loaded


def test_set_is_large_enough(items: list[dict[str, str]]) -> None:
    assert len(items) >= 700


def test_every_item_has_text_category_and_role(items: list[dict[str, str]]) -> None:
    for item in items:
        assert set(item) == {"text", "category", "role"}, item
        assert isinstance(item["text"], str)
        assert item["text"].strip(), item
        assert item["category"] in CATEGORIES, item
        assert item["role"] in ROLES, item


def test_every_category_is_represented(items: list[dict[str, str]]) -> None:
    counts = Counter(item["category"] for item in items)
    assert set(counts) == CATEGORIES
    assert min(counts.values()) >= 70


def test_no_text_appears_twice(items: list[dict[str, str]]) -> None:
    normalised = Counter(" ".join(item["text"].lower().split()) for item in items)
    repeated = [text for text, count in normalised.items() if count > 1]
    assert repeated == []


def test_seller_support_comes_from_sellers(items: list[dict[str, str]]) -> None:
    wrong = [
        item["text"]
        for item in items
        if item["category"] == "seller_support" and item["role"] != "seller"
    ]
    assert wrong == []
