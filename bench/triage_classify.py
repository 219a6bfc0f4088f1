"""Triage classification: time per message in one process, and quality on the held-out split.

    .venv/bin/python bench/triage_classify.py [--rounds 20]

Fits the text model on the training split of the starter set (as a new installation does),
then classifies every held-out message plus long emails (about 3 KB, and one of 100 KB)
``--rounds`` times, one message per call (rules + model, as ticket creation does), and
prints p50/p95/p99 per message, accuracy, macro-F1 and per-category precision and recall,
with the size of the set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    from policy.loader import load_policy_file
    from triage import classifier

    policy = load_policy_file(Path(__file__).resolve().parent.parent / "policies" / "izonie.yaml")
    examples = classifier.starter_examples()
    train, holdout = classifier.split(examples)
    start = time.perf_counter()
    pipeline = classifier.fit(train)
    fit_seconds = time.perf_counter() - start

    long_email = " ".join(e.text for e in holdout)[:3000]
    huge = "My refund has not arrived. " + "Lorem ipsum dolor sit amet. " * 3700
    messages = [e.text for e in holdout] + [long_email, huge]
    for text in messages:  # warm-up
        classifier.predict(policy=policy, pipeline=pipeline, text=text)
    samples = []
    for _ in range(args.rounds):
        for text in messages:
            began = time.perf_counter()
            classifier.predict(policy=policy, pipeline=pipeline, text=text)
            samples.append((time.perf_counter() - began) * 1000)

    result = classifier.evaluate(policy=policy, pipeline=pipeline, examples=holdout)
    names = {c.key: c.name for c in policy.categories}
    print(
        f"Data: {len(examples)} starter examples, {len(train)} training, {len(holdout)} held "
        f"out; model fitted in {fit_seconds:.2f} s"
    )
    print(
        f"Classification, one message per call ({len(samples)} calls over {len(messages)} "
        f"messages, up to {len(huge):,} characters): p50 {percentile(samples, 50):.2f} ms, "
        f"p95 {percentile(samples, 95):.2f} ms, p99 {percentile(samples, 99):.2f} ms "
        "(target: p95 under 2 ms)"
    )
    print(
        f"Held-out accuracy {result.accuracy:.3f}, macro-F1 {result.macro_f1:.3f}; at the "
        f"{policy.triage.confidence_threshold:g} threshold {result.coverage:.1%} categorised "
        f"automatically, {result.accuracy_when_confident:.1%} of those correct"
    )
    print(f"{'category':<20}{'precision':>10}{'recall':>10}{'support':>10}")
    for key in result.labels:
        print(
            f"{names[key]:<20}{result.precision[key]:>10.3f}{result.recall[key]:>10.3f}"
            f"{result.support[key]:>10}"
        )


if __name__ == "__main__":
    main()
