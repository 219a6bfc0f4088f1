"""Conduct screening: false-positive rate, recall and time per message.

    .venv/bin/python -m bench.conduct_screen [--rounds 20]

Runs ``conduct.screening.screen_text`` (the policy's word list plus the
alt-profanity-check model) over the hand-written sets in ``conduct/data/``: angry but
civil messages (any flag is a false positive) and abusive ones, many obfuscated (recall).
Times every screening, each set repeated ``--rounds`` times, and a long email-sized
message (the civil set joined) for the worst case.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Plain HTTP, a key of its own (as bench/harness.py does for the others).
    os.environ.setdefault("DJANGO_SECRET_KEY", "izonie-benchmarks-only-key-never-used-elsewhere")
    os.environ.setdefault("IZONIE_HTTPS", "0")
    import django

    django.setup()
    from conduct.datasets import abusive_messages, civil_messages
    from conduct.screening import screen_text
    from policy.loader import get_policy

    screening = get_policy().conduct.screening
    civil, abusive = civil_messages(), abusive_messages()
    screen_text("warm up the model", screening=screening)

    false_positives = [text for text in civil if screen_text(text, screening=screening)]
    missed = [text for text in abusive if not screen_text(text, screening=screening)]

    timings: list[float] = []
    for _ in range(args.rounds):
        for text in (*civil, *abusive):
            started = time.perf_counter()
            screen_text(text, screening=screening)
            timings.append((time.perf_counter() - started) * 1000)
    long_text = "\n".join(civil)
    long_timings = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        screen_text(long_text, screening=screening)
        long_timings.append((time.perf_counter() - started) * 1000)

    print(f"sets: {len(civil)} angry-but-civil messages, {len(abusive)} abusive messages")
    print(
        f"false positives: {len(false_positives)} of {len(civil)} "
        f"({len(false_positives) / len(civil):.1%})"
    )
    for text in false_positives:
        print(f"  flagged: {text}")
    print(
        f"recall: {len(abusive) - len(missed)} of {len(abusive)} "
        f"({1 - len(missed) / len(abusive):.1%})"
    )
    for text in missed:
        print(f"  missed: {text}")
    print(
        f"screening time per message ({len(timings):,} screenings, "
        f"{len(screening.terms)} list terms + model): "
        f"p50 {statistics.median(timings):.2f} ms, p95 {_percentile(timings, 0.95):.2f} ms, "
        f"max {max(timings):.2f} ms"
    )
    print(
        f"long message ({len(long_text):,} characters, {args.rounds} runs): "
        f"p50 {statistics.median(long_timings):.2f} ms, "
        f"p95 {_percentile(long_timings, 0.95):.2f} ms"
    )


if __name__ == "__main__":
    main()
