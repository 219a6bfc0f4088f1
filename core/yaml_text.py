"""YAML parsing with libyaml when PyYAML was built with it.

PyYAML's pure-Python parser takes about 50 ms for the policy file; its C parser (bundled
in the wheels) about 5 ms. The policy is re-read after every change of it, and by every
test, so the difference adds up.
"""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with the C parser: safe tags only, the same results."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
