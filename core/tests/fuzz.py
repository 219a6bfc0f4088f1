"""Shared Hypothesis settings for the fuzz tests (docs/security/fuzzing.md).

CI runs each fuzz test with a small, fixed number of examples, derandomised: the same
inputs on every run, so a red build is reproducible and the time is bounded. For a
deeper local search, set FUZZ_EXAMPLES_SCALE (say 10) and FUZZ_RANDOM=1 (new inputs each
run; Hypothesis prints the failing one, to be pinned with @example).
"""

from __future__ import annotations

import os

from hypothesis import settings


def fuzz_settings(*, max_examples: int) -> settings:
    scale = float(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
    return settings(
        max_examples=max(1, int(max_examples * scale)),
        # Database round trips on a busy 2-core CI machine vary too much for a deadline.
        deadline=None,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        # No example database: CI has no state between runs, and a local one would make
        # runs differ from CI's.
        database=None,
        print_blob=True,
    )
