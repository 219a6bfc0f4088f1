"""Load a policy file into ``SupportPolicy``, with errors that name the field."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from pydantic import ValidationError

from core.yaml_text import load_yaml
from policy.schema import SupportPolicy


class PolicyError(Exception):
    """The policy file cannot be used; ``problems`` lists ``field: message`` lines."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        # pydantic adds the validator's branch name ("function-before[...]") to loc for
        # annotated types; a reader of the policy file only wants the field path.
        loc = tuple(part for part in item["loc"] if not str(part).startswith("function-"))
        message = item["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        where = _location(loc)
        problems.append(f"{where}: {message}" if where else message)
    return problems


def parse_policy(data: Any, *, source: Path | str = "<policy>") -> SupportPolicy:
    if not isinstance(data, dict):
        raise PolicyError(source, ["the file must hold a mapping of policy sections"])
    try:
        return SupportPolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, _problems(exc)) from exc


# Policies parsed so far, by file and content. Reading an unchanged file again (after a
# reset of the cache below, as every test does) gives back the same object, so what the
# features keep per policy object (compiled rules, the classifier's scores) stays valid
# and the file is not parsed again. The policy objects are frozen.
_PARSED: dict[tuple[str, str], SupportPolicy] = {}
_PARSED_KEPT = 8


def load_policy_file(path: Path | str) -> SupportPolicy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(path, [f"cannot read the file: {exc.strerror}"]) from exc
    key = (str(path), hashlib.sha256(text.encode("utf-8")).hexdigest())
    parsed = _PARSED.get(key)
    if parsed is not None:
        return parsed
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyError(path, [f"not valid YAML: {exc}"]) from exc
    parsed = parse_policy(data, source=path)
    if len(_PARSED) >= _PARSED_KEPT:
        _PARSED.clear()
    _PARSED[key] = parsed
    return parsed


@functools.cache
def _load_cached(path: str) -> SupportPolicy:
    return load_policy_file(path)


def get_policy() -> SupportPolicy:
    """The policy this installation enforces (``settings.IZONIE_POLICY_FILE``)."""
    return _load_cached(str(settings.IZONIE_POLICY_FILE))


def reset_policy_cache() -> None:
    _load_cached.cache_clear()
