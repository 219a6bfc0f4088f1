"""Every setting has one place where it is documented (docs/settings.md).

A source scan, no Django: the environment variables the code reads (the settings module's
``env_*("NAME")`` calls and any ``"IZONIE_…"`` name in a module outside tests and
benchmarks) must each have a row in the reference, and each row must name a variable the
code reads. The reference's "For the test suite" list is held to the variables the tests,
benchmarks and ``scripts/`` read.
"""

import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "settings.md"
TEST_SECTION = "## For the test suite"
SKIPPED_DIRS = {".venv", ".git", "node_modules", "var", "__pycache__", "static", "templates"}
NOT_DEPLOYED_DIRS = {"tests", "bench"}

ENV_READER = re.compile(r"""env_(?:str|int|bool|list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
IZONIE_NAME = re.compile(r"""["'](IZONIE_[A-Z0-9_]*[A-Z0-9])["']""")
ENVIRON_READ = re.compile(
    r"""(?:environ\.get\(|environ\[|getenv\()\s*["'](IZONIE_[A-Z0-9_]*[A-Z0-9])["']"""
)
SHELL_READ = re.compile(r"\$\{?(IZONIE_[A-Z0-9_]*[A-Z0-9])")
ROW_NAMES = re.compile(r"`([A-Z][A-Z0-9_]*[A-Z0-9])`")


def python_files() -> Iterator[tuple[Path, bool]]:
    """Every Python file of the repository, and whether it is deployed code."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        relative = Path(folder).relative_to(ROOT)
        not_deployed = bool(NOT_DEPLOYED_DIRS & set(relative.parts))
        for name in files:
            if name.endswith(".py"):
                is_test_file = name == "conftest.py" or name.startswith("test_")
                yield Path(folder) / name, not (not_deployed or is_test_file)


def read_by_code() -> tuple[set[str], set[str]]:
    """Names read by deployed code, and IZONIE_* names read only by tests and benchmarks."""
    deployed: set[str] = set()
    testing: set[str] = set()
    for path, is_deployed in python_files():
        source = path.read_text(encoding="utf-8")
        if is_deployed:
            deployed |= set(ENV_READER.findall(source)) | set(IZONIE_NAME.findall(source))
        else:
            testing |= set(ENVIRON_READ.findall(source))
    for script in (ROOT / "scripts").iterdir():
        if script.is_file():
            testing |= set(SHELL_READ.findall(script.read_text(encoding="utf-8")))
    return deployed, testing - deployed


def documented() -> tuple[list[str], list[str]]:
    """Names in the first column of the reference's tables: settings, then test-only ones."""
    text = REFERENCE.read_text(encoding="utf-8")
    settings_part, _, tests_part = text.partition(TEST_SECTION)
    assert tests_part, f"docs/settings.md has no {TEST_SECTION!r} section"

    def first_column(part: str) -> list[str]:
        names = []
        for line in part.splitlines():
            if line.startswith("| `"):
                names += ROW_NAMES.findall(line.split("|")[1])
        return names

    return first_column(settings_part), first_column(tests_part)


def test_every_variable_the_code_reads_has_one_row_and_every_row_is_read() -> None:
    deployed, _ = read_by_code()
    rows, test_rows = documented()
    assert len(deployed) > 80, "the scan found too few variables: is it looking in the code?"

    missing = sorted(deployed - set(rows))
    assert not missing, f"read by the code but without a row in docs/settings.md: {missing}"
    unread = sorted(set(rows) - deployed)
    assert not unread, f"rows in docs/settings.md that no code reads: {unread}"
    twice = sorted(name for name, count in Counter(rows + test_rows).items() if count > 1)
    assert not twice, f"more than one row in docs/settings.md: {twice}"


def test_the_test_suite_list_matches_what_tests_and_scripts_read() -> None:
    _, testing = read_by_code()
    _, test_rows = documented()

    missing = sorted(testing - set(test_rows))
    assert not missing, f"read by tests, benchmarks or scripts but not listed: {missing}"
    unread = sorted(set(test_rows) - testing)
    assert not unread, f"listed for the test suite but read by nothing: {unread}"
