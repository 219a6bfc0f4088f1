"""The policy file reference is generated from the schema and kept in the repository."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from policy import schema
from policy.reference import field_comments, policy_reference


def test_the_committed_reference_matches_the_schema():
    committed = (Path(settings.BASE_DIR) / "docs" / "policy-reference.md").read_text()
    assert committed == policy_reference(), (
        "docs/policy-reference.md is out of date: run ./manage.py policy reference"
    )


def test_every_key_of_the_policy_file_is_explained():
    reference = policy_reference()
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert len(rows) > 90  # every key of every section, not a sample
    unexplained = [row for row in rows if row.rstrip().endswith("|  |")]
    assert unexplained == []


def test_a_field_takes_the_comment_written_above_it_and_no_other():
    comments = field_comments(schema.Triage)
    assert comments["confidence_threshold"].startswith("Below this confidence")
    assert comments["rules_weight"].startswith("Share of the final score")
    # A comment inside a method body is not a field's.
    assert set(comments) <= set(schema.Triage.model_fields)


def test_defaults_and_types_read_as_written_in_the_file():
    reference = policy_reference()
    assert "| `warn_at` | float | `0.8` |" in reference
    assert "| `block_for` | duration | `24 hours` |" in reference
    choices = "`manual` \\| `round_robin` \\| `least_loaded`"
    assert f"| `assignment` | {choices} | `manual` |" in reference
