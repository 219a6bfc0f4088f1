"""``manage.py retention_enforce``: delete what the policy's ``retention`` periods say is no
longer needed (attachments of closed requests, raw inbound mail, raw webhook deliveries).
Run it daily from cron or a systemd timer; each run only touches what is due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dataprotection.services import retention_enforce


class Command(BaseCommand):
    help = "Apply the policy's data retention periods."

    def handle(self, *args: Any, **options: Any) -> None:
        report = retention_enforce()
        self.stdout.write(
            f"{report.attachments_deleted} attachments deleted, {report.raw_mails_emptied} raw "
            f"emails and {report.deliveries_emptied} webhook deliveries emptied."
        )
