"""Business-calendar throughput: deadline computations per second in one process.

    .venv/bin/python bench/sla_calendar.py [--count 200000]

Realistic inputs: instants spread over a year (open and closed hours, weekends,
Nigerian holidays), the live-chat schedule (Mon-Sat 08:00-20:00, Africa/Lagos) and
the team calendar, adding 2 and 5 minutes (chat), 24 hours of calendar time
(email), 3 and 5 business days (disputes) and measuring business time between.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    args = parser.parse_args()

    from policy.loader import load_policy_file
    from sla.business_time import BusinessClock

    policy = load_policy_file(Path(__file__).resolve().parent.parent / "policies" / "izonie.yaml")
    chat = BusinessClock(policy.calendar, policy.hours_for("live_chat"))
    team = BusinessClock(policy.calendar, policy.calendar.weekly_hours)
    rng = random.Random(7)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    starts = [
        dt.datetime.fromtimestamp(base + rng.random() * 365 * 86400, dt.UTC)
        for _ in range(args.count)
    ]
    ends = [s + dt.timedelta(seconds=rng.random() * 7 * 86400) for s in starts]
    operations = {
        "chat first reply due (add 2 business minutes)": lambda s, e: chat.add(s, 120),
        "chat breach (add 5 business minutes)": lambda s, e: chat.add(s, 300),
        "dispute due (add 3 business days)": lambda s, e: team.add(s, 3 * 12 * 3600),
        "dispute due (3 business days, same time of day)": (
            lambda s, e: team.add_business_days(s, 3)
        ),
        "business time between two instants": lambda s, e: team.between(s, e),
        "is chat open": lambda s, e: chat.is_open(s),
    }
    print(f"Business calendar, {args.count:,} random instants over 2026, one process\n")
    print("| operation | per second |")
    print("|---|---|")
    total_ops, total_time = 0, 0.0
    for name, operation in operations.items():
        start = time.perf_counter()
        for s, e in zip(starts, ends, strict=True):
            operation(s, e)
        elapsed = time.perf_counter() - start
        total_ops += len(starts)
        total_time += elapsed
        print(f"| {name} | {len(starts) / elapsed:,.0f} |")
    print(f"| **all of the above, mixed** | **{total_ops / total_time:,.0f}** |")


if __name__ == "__main__":
    main()
