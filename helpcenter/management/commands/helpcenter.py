from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpcenter import services
from helpcenter.content import CONTENT_DIR, ContentError, content_load


class Command(BaseCommand):
    help = (
        "Help Center content: 'load' the Markdown files in helpcenter/content (idempotent), "
        "'reindex' every published article."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["load", "reindex"])
        parser.add_argument("--directory", default=str(CONTENT_DIR))
        parser.add_argument(
            "--force",
            action="store_true",
            help="also overwrite articles edited in the admin since they were loaded",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from pathlib import Path

        if options["action"] == "reindex":
            count = services.search_index_rebuild()
            self.stdout.write(self.style.SUCCESS(f"Indexed {count} published articles."))
            return
        try:
            report = content_load(directory=Path(options["directory"]), force=options["force"])
        except ContentError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.kept)} kept (edited in the admin)"
        )
        for path in report.kept:
            self.stdout.write(f"  kept {path}; use --force to overwrite it")
