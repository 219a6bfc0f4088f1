"""Write (or check) the committed OpenAPI document of REST API v1: docs/openapi.json."""

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.api import api

SNAPSHOT = Path(settings.BASE_DIR) / "docs" / "openapi.json"


def current_schema() -> str:
    return (
        json.dumps(api.get_openapi_schema(path_prefix="/api/v1/"), indent=2, sort_keys=True) + "\n"
    )


class Command(BaseCommand):
    help = "Write docs/openapi.json from the API, or --check that it is up to date."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--check", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        schema = current_schema()
        if options["check"]:
            if not SNAPSHOT.exists() or SNAPSHOT.read_text() != schema:
                raise CommandError(
                    "docs/openapi.json is stale: run ./manage.py openapi_snapshot and commit it."
                )
            self.stdout.write("docs/openapi.json is up to date.")
            return
        SNAPSHOT.write_text(schema)
        self.stdout.write(f"Wrote {SNAPSHOT}.")
