"""``manage.py policy check FILE``: validate a policy file without starting anything.
``manage.py policy reference``: write the policy file reference (docs/policy-reference.md)."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from policy.loader import PolicyError, load_policy_file
from policy.reference import policy_reference

REFERENCE_PATH = Path(settings.BASE_DIR) / "docs" / "policy-reference.md"


class Command(BaseCommand):
    help = "Work with support policy files."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="Validate a policy file and print what it promises.")
        check.add_argument("file")
        reference = sub.add_parser(
            "reference", help="Write the policy file reference, generated from the schema."
        )
        reference.add_argument("--output", default=str(REFERENCE_PATH))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reference":
            Path(options["output"]).write_text(policy_reference(), encoding="utf-8")
            self.stdout.write(f"Wrote {options['output']}.")
            return
        path = options["file"]
        try:
            policy = load_policy_file(path)
        except PolicyError as exc:
            for problem in exc.problems:
                self.stderr.write(f"{exc.path}: {problem}")
            raise CommandError(
                f"{path} is not a valid policy ({len(exc.problems)} problem(s))."
            ) from None
        self.stdout.write(
            f"{path}: valid policy v{policy.version} for {policy.organisation.name}: "
            f"{len(policy.channels)} channels, {len(policy.categories)} categories, "
            f"{len(policy.response_targets)} response targets."
        )
