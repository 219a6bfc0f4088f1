"""Every setting has one place where it is documented (docs/settings.md).

A source scan, no Django: the environment variables the code reads (the settings module's
``env_*("NAME")`` calls and any ``"IZONIE_…"`` name in a module outside tests and
benchmarks) must each have a row in the reference, and each row must name a variable the
code reads. The reference's "For the test suite" list is held to the variables the tests,
benchmarks and ``scripts/`` read. Defaults written as plain values in config/settings.py
(numbers, words, lists) must be the ones the reference shows.
"""

import ast
import operator
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

ENV_READER = re.compile(r"""env_(?:str|int|float|bool|list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
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


SETTINGS = ROOT / "config" / "settings.py"
ARITHMETIC = {ast.Mult: operator.mul, ast.Add: operator.add}


def literal(node: ast.expr) -> object:
    """The value of a default written as a constant, a list of them, or a product such as
    ``24 * 3600``; ``None`` for anything computed (paths, other settings)."""
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        left, right = literal(node.left), literal(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return ARITHMETIC[type(node.op)](left, right)
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def defaults_in_code() -> dict[str, object]:
    """Each ``env_*("NAME", default)`` call of the settings module with a plain default."""
    found: dict[str, object] = {}
    for node in ast.walk(ast.parse(SETTINGS.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if not node.func.id.startswith("env_") or not node.args:
            continue
        name = literal(node.args[0])
        given = node.args[1:] + [k.value for k in node.keywords if k.arg == "default"]
        if not isinstance(name, str) or not given:
            continue
        value = literal(given[0])
        if value is not None and value != "":
            found[name] = value
    return found


def as_documented(value: object) -> str:
    """How the reference's default column writes a value."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return f"`{','.join(value)}`" if value else "empty"
    return f"`{value}`"


def default_cells() -> dict[str, str]:
    """The default column for each variable: its own part of a grouped row when the row
    gives one value per name ("`localhost`, `25`"), else the whole cell."""
    cells = {}
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            columns = line.split("|")
            names = ROW_NAMES.findall(columns[1])
            cell = columns[2].strip()
            parts = cell.split(", ")
            for index, name in enumerate(names):
                cells[name] = parts[index] if len(parts) == len(names) > 1 else cell
    return cells


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


def test_the_reference_shows_the_defaults_written_in_the_settings_module() -> None:
    in_code = defaults_in_code()
    cells = default_cells()
    assert len(in_code) > 60, "the scan found too few defaults: is it reading the settings?"

    wrong = {
        name: (as_documented(value), cells.get(name))
        for name, value in in_code.items()
        if not (cells.get(name) or "").startswith(as_documented(value))
    }
    assert not wrong, f"default in code vs docs/settings.md: {wrong}"
