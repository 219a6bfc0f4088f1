"""Fail at start-up, naming the field, when the policy file is broken."""

from typing import Any

from django.core.checks import CheckMessage, Error, register

from policy.loader import PolicyError, get_policy


@register()
def policy_file_is_valid(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        get_policy()
    except PolicyError as exc:
        return [
            Error(f"{exc.path}: {problem}", id="policy.E001", hint="Fix the policy file.")
            for problem in exc.problems
        ]
    return []
