"""``manage.py policy check FILE``: validate a policy file without starting anything."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policy.loader import PolicyError, load_policy_file


class Command(BaseCommand):
    help = "Work with support policy files."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="Validate a policy file and print what it promises.")
        check.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
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
