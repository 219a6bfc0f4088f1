"""Triage classification: time per message, and quality on the held-out split and on the
independent set.

    .venv/bin/python bench/triage_classify.py [--rounds 20]

Fits the text model on the training split of the training data (starter set and persona
files), times the fit, then classifies every held-out message plus long emails (about
3 KB, and one of 100 KB) ``--rounds`` times, one message per call (rules + model, as
ticket creation does), and prints p50/p95/p99 per message. Then the quality figures with
the sizes of the sets: on the held-out split (model fitted without it) and, when
triage/data/independent_set.yaml exists, on the independent set with the writer's roles
(model fitted on all the training data, held-out split included, as the versions in use
then are): accuracy, macro-F1, the share routed automatically at the policy's threshold
and the precision of what is routed, and per-category precision and recall.
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
    keys = {*policy.category_keys, classifier.NONE}
    examples = classifier.without_independent(
        [e for e in classifier.training_set() if e.category in keys]
    )
    train, holdout = classifier.split(examples)
    start = time.perf_counter()
    pipeline = classifier.fit(train, policy=policy)
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

    print(
        f"Data: {len(examples)} training examples (starter set and persona files, less the "
        "texts also in the independent set), "
        f"{len(train)} in the training split, {len(holdout)} held out; model fitted on the "
        f"split in {fit_seconds:.1f} s"
    )
    print(
        f"Classification, one message per call ({len(samples)} calls over {len(messages)} "
        f"messages, up to {len(huge):,} characters): p50 {percentile(samples, 50):.2f} ms, "
        f"p95 {percentile(samples, 95):.2f} ms, p99 {percentile(samples, 99):.2f} ms"
    )
    result = classifier.evaluate(policy=policy, pipeline=pipeline, examples=holdout)
    report("Held-out split", result, policy=policy)
    independent = classifier.independent_set()
    if not independent:
        print("Independent set: not present")
        return
    start = time.perf_counter()
    everything = classifier.fit(examples, policy=policy)
    print(
        f"Model fitted on all {len(examples)} training examples in "
        f"{time.perf_counter() - start:.1f} s"
    )
    result = classifier.evaluate(policy=policy, pipeline=everything, examples=independent)
    report("Independent set", result, policy=policy)


def report(title: str, result: object, *, policy: object) -> None:
    from policy.schema import SupportPolicy
    from triage import classifier

    assert isinstance(result, classifier.Evaluation) and isinstance(policy, SupportPolicy)
    names = {c.key: c.name for c in policy.categories} | {classifier.NONE: "(none of these)"}
    print(
        f"{title} ({result.size} messages): accuracy {result.accuracy:.3f}, macro-F1 "
        f"{result.macro_f1:.3f}; at the {policy.triage.confidence_threshold:g} threshold "
        f"{result.coverage:.1%} routed automatically, {result.accuracy_when_confident:.1%} "
        "of those correct"
    )
    print(f"  {'category':<20}{'precision':>10}{'recall':>10}{'support':>10}")
    for key in result.labels:
        print(
            f"  {names[key]:<20}{result.precision[key]:>10.3f}{result.recall[key]:>10.3f}"
            f"{result.support[key]:>10}"
        )


if __name__ == "__main__":
    main()
