from typing import Any

from django.core.management.base import BaseCommand

from core.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_exists, seed_demo


class Command(BaseCommand):
    help = "Create the demo people, orders and conversations (once; does nothing if present)."

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_exists():
            self.stdout.write("Demo data is already there; nothing to do.")
            return
        seed_demo(progress=lambda step: self.stdout.write(f"  created {step}"))
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<20} {DEMO_PASSWORD}   {login.description}")
