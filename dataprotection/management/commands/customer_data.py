"""``manage.py customer_data export|erase EMAIL_OR_USERNAME``: answer a data-protection request
from the command line (the admin has the same two actions on the accounts list)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.models import User
from dataprotection.services import ErasureBlocked, customer_erase, customer_export


class Command(BaseCommand):
    help = "Export or erase everything held about one customer."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write the customer's data as one zip archive")
        export.add_argument("customer", help="email address or username")
        export.add_argument("--output", help="zip file (default: izonie-data-ID.zip)")
        erase = sub.add_parser("erase", help="anonymise the customer and delete personal data")
        erase.add_argument("customer", help="email address or username")
        erase.add_argument("--reason", required=True, help="recorded in the audit log")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["customer"]
        matches = list(User.objects.filter(Q(email__iexact=key) | Q(username=key))[:2])
        if len(matches) != 1:
            found = "no account" if not matches else "more than one account"
            raise CommandError(f"{found} matches {key!r}; give the username instead.")
        customer = matches[0]
        if options["action"] == "export":
            output = Path(options["output"] or f"izonie-data-{customer.pk}.zip")
            output.write_bytes(customer_export(customer=customer, actor=None))
            self.stdout.write(f"Wrote {output}.")
            return
        try:
            report = customer_erase(customer=customer, actor=None, reason=options["reason"])
        except ErasureBlocked as exc:
            raise CommandError(
                "Not erased:\n" + "\n".join(f"- {reason}" for reason in exc.reasons)
            ) from None
        self.stdout.write(
            f"Erased account {customer.pk}: {report.tickets} requests kept without personal "
            f"data, {report.messages_cleaned} messages cleaned, {report.attachments_deleted} "
            f"attachments deleted, {report.raw_mails_emptied} raw emails emptied."
        )
