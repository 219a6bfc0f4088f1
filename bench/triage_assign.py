"""Assignment: time to choose an agent for a new conversation, with 500 agents in the team.

    .venv/bin/python bench/triage_assign.py [--agents 500] [--tickets 10000] [--runs 300]

Uses its own PostgreSQL database (``izonie_bench_triage_assign``, rebuilt each run): the
agents, all in Customer Care (round robin, capacity 30) and Payments (least loaded,
capacity 25), and active conversations assigned among them at random. Times
``workload.routing.choose_agent`` per call, inside a transaction as ticket creation runs it.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import django_setup, timed, use_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    use_database("izonie_bench_triage_assign")
    django_setup()
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import Role, User
    from policy.loader import get_policy
    from tickets.models import Ticket
    from triage.models import TeamRotation
    from workload.routing import choose_agent

    call_command("migrate", verbosity=0)
    Ticket.objects.all().delete()
    TeamRotation.objects.all().delete()
    User.objects.all().delete()
    buyer = User.objects.create(username="bench-buyer", role=Role.BUYER)
    agents = User.objects.bulk_create(
        User(
            username=f"bench-agent-{n}",
            role=Role.AGENT,
            teams=["customer_care", "payments"],
            password="!",
        )
        for n in range(args.agents)
    )
    rng = random.Random(5)
    Ticket.objects.bulk_create(
        Ticket(
            subject="bench",
            requester=buyer,
            channel="email",
            category="payments",
            team="payments",
            status=rng.choice(["new", "open", "on_hold", "pending", "resolved"]),
            assignee=rng.choice(agents),
        )
        for _ in range(args.tickets)
    )
    policy = get_policy()
    teams = {team.key: team for team in policy.teams}

    def choose(team_key: str) -> None:
        with transaction.atomic():
            assert choose_agent(team=teams[team_key]) is not None

    print(
        f"Data: {args.agents} agents in the team, {args.tickets:,} conversations assigned "
        "among them (4 in 5 active)"
    )
    for key in ("customer_care", "payments"):
        team = teams[key]
        result = timed(lambda key=key: choose(key), runs=args.runs)
        print(
            f"{team.name} ({team.assignment}, capacity {team.capacity}): "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms "
            f"over {result['runs']} choices (target: under 5 ms)"
        )


if __name__ == "__main__":
    main()
