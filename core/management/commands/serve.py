"""Run the whole system: migrations, demo data (with --demo), web (uvicorn) and the task
worker."""

import datetime as dt
import os
from argparse import SUPPRESS, ArgumentParser
from typing import Any

import uvicorn
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_exists
from core.housekeeping import worker_housekeeping
from core.security import public_url_for, require_secret_key
from core.task_recovery import abandoned_after, tasks_requeue_abandoned
from core.worker import InProcessWorker, database_wait_at_start


class Command(BaseCommand):
    help = "Start Izonie Support: web server and background worker in one process."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Don't run the task worker in this process."
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Create the demo data and logins (password izonie-demo) on an empty database. "
            "Only for trying the system out: scripts/demo passes it.",
        )
        # Nothing is seeded without --demo; kept so that existing start commands still run.
        parser.add_argument("--no-demo", action="store_true", help=SUPPRESS)
        parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Migrate the database and collect static files first (always done for "
            "the demo; production runs them as a deploy step).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            require_secret_key()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc  # the message alone, no traceback
        if not os.environ.get("IZONIE_PUBLIC_URL"):
            # Links in emails point at this server. Set in the environment too, so that
            # uvicorn's worker processes (--workers) read the same.
            public_url = public_url_for(host=options["host"], port=options["port"])
            settings.IZONIE_PUBLIC_URL = os.environ["IZONIE_PUBLIC_URL"] = public_url
        if not database_wait_at_start(who="serve"):
            raise CommandError("The database did not answer within IZONIE_DB_WAIT_SECONDS.")
        if self._prepares_database(options):
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            self.stdout.write("Database is up to date; static files collected.")
        demo = options["demo"]
        if demo and not demo_exists():
            call_command("seed_demo", stdout=self.stdout)
        if demo and "IZONIE_STAFF_2FA_REQUIRED" not in os.environ:
            # The demo logins have no authenticator app. Production runs without --demo,
            # where staff two-factor stays on (DEBUG off); the environment variable wins.
            # Set in the environment too, for uvicorn's worker processes (--workers).
            os.environ["IZONIE_STAFF_2FA_REQUIRED"] = "0"
            settings.IZONIE_STAFF_2FA_REQUIRED = False
        worker = None
        housekeeping = None
        if not options["no_worker"]:
            # Webhook deliveries a previous run stored but did not finish (it stopped or
            # crashed mid-way) are queued again; processing them twice is harmless.
            from social.services import delivery_requeue_stale

            if requeued := delivery_requeue_stale(older_than=dt.timedelta(0)):
                self.stdout.write(f"Queued {requeued} unfinished social deliveries again.")
            if requeued := tasks_requeue_abandoned(older_than=abandoned_after()):
                self.stdout.write(f"Queued {requeued} tasks abandoned by a stopped worker again.")
            worker = InProcessWorker()
            housekeeping = worker_housekeeping(worker_id=worker.worker.worker_id)
            housekeeping.start(first_tick_now=True)  # heartbeat before the first task
            worker.start()
            self.stdout.write("Background worker started in this process.")
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(f"\nIzonie Support is running at {base}/\n"))
        for label, path in [
            ("Agent console", "/console/"),
            ("Agents' chat desk", "/console/chat/"),
            ("Live chat (demo page)", "/demo/product/izonie-x12-pro"),
            ("Customer portal", "/contact"),
            ("Seller portal", "/seller/"),
            ("Reports", "/reports/"),
            ("Support Policy page", "/support-policy"),
            ("REST API docs", "/api/v1/docs"),
            ("Admin", "/admin/"),
        ]:
            self.stdout.write(f"  {label:<20} {base}{path}")
        if demo:
            self.stdout.write(f"\nDemo logins (password {DEMO_PASSWORD} for all):")
            for login in DEMO_LOGINS:
                self.stdout.write(f"  {login.username:<20} {login.description}")
            self.stdout.write(
                "\nTo try live chat: sign in as an agent, open the chat desk and choose "
                "Online, then open the demo page in another browser (Mon–Sat 08:00–20:00, "
                "Lagos time; outside those hours the widget shows its offline mode)."
            )
        self.stdout.write(f"\nLinks in emails point at {settings.IZONIE_PUBLIC_URL}/.")
        if settings.IZONIE_HTTPS:
            self.stdout.write(
                "HTTPS mode (IZONIE_HTTPS): secure cookies, HSTS, plain HTTP redirected. "
                "Serve it behind a TLS proxy, or set IZONIE_HTTPS=0 on loopback."
            )
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        layer = "Redis" if settings.REDIS_URL else "in-memory"
        self.stdout.write(f"\nDatabase: {database}; channel layer: {layer}. Ctrl+C stops.\n")
        self.stdout.flush()
        try:
            uvicorn.run(
                "config.asgi:application",
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                log_level="info",
                lifespan="off",
            )
        finally:
            if worker:
                worker.stop()
            if housekeeping:
                housekeeping.stop()

    @staticmethod
    def _prepares_database(options: dict[str, Any]) -> bool:
        """Migrating and collecting static files cost 7-9 s per start, and a production
        restart must not change the schema by surprise: there they are a deploy step
        (``manage.py migrate && manage.py collectstatic``, docs/operations/recovery.md).
        The demo does both, so that one command still starts everything."""
        return options["migrate"] or settings.IZONIE_SERVE_MIGRATE or options["demo"]
