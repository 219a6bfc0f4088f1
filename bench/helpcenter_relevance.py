"""Help Center search quality: MRR and nDCG@5 over the judged customer queries, per engine.

    .venv/bin/python bench/helpcenter_relevance.py                  # SQLite FTS5 and PostgreSQL
    .venv/bin/python bench/helpcenter_relevance.py --engines sqlite --worst 20

Each engine runs in its own process on a fresh database (SQLite: a temporary file;
PostgreSQL: izonie_bench_relevance) holding the starter articles from helpcenter/content.
The judged queries are helpcenter/tests/data/relevance.yaml (see its header for origin).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, django_setup, use_database


def _child(engine: str, worst: int) -> None:
    if engine == "postgres":
        use_database("izonie_bench_relevance")
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["IZONIE_VAR_DIR"] = tempfile.mkdtemp(prefix="izonie-relevance-")
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    from helpcenter.content import content_load
    from helpcenter.models import Article
    from helpcenter.relevance import evaluate

    call_command("migrate", "helpcenter", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
    content_load()
    evaluation = evaluate()
    print(
        json.dumps(
            {
                "engine": connection.vendor,
                "articles": Article.objects.count(),
                "queries": len(evaluation.results),
                "mrr": round(evaluation.mrr, 3),
                "ndcg5": round(evaluation.ndcg, 3),
                "worst": [
                    {"q": r.judged.query, "want": r.judged.relevant[0], "got": r.ranked[:3]}
                    for r in evaluation.worst(worst)
                ],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--worst", type=int, default=0, help="also list the N worst queries")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.worst)
        return
    for engine in args.engines:
        command = [sys.executable, __file__, "--child", engine, "--worst", str(args.worst)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        print(
            f"{result['engine']:>10}: {result['queries']} judged queries, "
            f"{result['articles']} articles; MRR {result['mrr']:.3f}, nDCG@5 {result['ndcg5']:.3f}"
        )
        for row in result["worst"]:
            print(f"    {row['q']!r}: want {row['want']}, got {row['got']}")


if __name__ == "__main__":
    main()
