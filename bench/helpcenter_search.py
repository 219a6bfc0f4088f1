"""Help Center search and article pages with 10,000 generated articles, on both engines.

    .venv/bin/python bench/helpcenter_search.py                    # SQLite FTS5 and PostgreSQL
    .venv/bin/python bench/helpcenter_search.py --engines sqlite
    .venv/bin/python bench/helpcenter_search.py --articles 2000 --fresh
    .venv/bin/python bench/helpcenter_search.py --pg-database izonie_bench_mine   # own database

Each engine runs in its own process and database (SQLite: var/bench/helpcenter.sqlite3;
PostgreSQL: izonie_bench_helpcenter), filled once with the 35 starter articles plus
generated ones built from their sentences and product names, then reused.
Printed per engine: search p50/p95 (the selector: ranking, snippets, article rows), the
search page and an article page through Django's full stack (test client, no network),
the index size and the typo vocabulary size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, django_setup, timed, use_database

QUERIES = [
    "refund", "refund status", "track my order", "order late", "reset password",
    "return window", "how to start a return", "wallet balance", "payment failed",
    "charged twice", "escalate", "supervisor", "code of conduct", "app crash",
    "report a bug", "seller payout", "list a product", "delivery failed", "wrong item",
    "damaged phone", "refnd", "pasword", "retrun", "escalat", "galaxy", "iphone return",
    "when will I get my money back", "courier could not deliver", "sign in", "locked account",
    'refund "late', "NEAR(refund", "(((", "*", "tecno camon charger", "headphones broken",
    "contact", "response time", "email", "live chat hours",
]  # fmt: skip
_PRODUCTS = [
    "Samsung Galaxy A55", "iPhone 15", "Tecno Camon 30", "Infinix Note 40", "JBL Tune 510BT",
    "Anker 20W charger", "Xiaomi Redmi Pad SE", "Oraimo FreePods 4", "Nokia G42", "itel A70",
]  # fmt: skip
_TOPICS = [
    "refund", "return", "delivery", "payment", "screen", "battery", "warranty", "charger",
    "invoice", "courier", "wallet", "seller", "password", "account", "listing", "payout",
]  # fmt: skip


def _generate(count: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from helpcenter.content import content_load
    from helpcenter.models import Article, Section
    from helpcenter.services import article_index_sync

    content_load()
    sources = list(Article.objects.values_list("body", flat=True))
    sentences = [
        sentence.strip()
        for body in sources
        for sentence in re.split(r"(?<=[.!?])\s+|\n\n", body)
        if len(sentence.strip()) > 30 and "{{" not in sentence
    ]
    sections = list(Section.objects.all())
    rng = random.Random(6)
    now = timezone.now()
    existing = Article.objects.count()
    batch: list[Article] = []
    for index in range(existing, count):
        product, topic = rng.choice(_PRODUCTS), rng.choice(_TOPICS)
        paragraphs = [
            " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 6)))
            for _ in range(rng.randint(3, 7))
        ]
        paragraphs.insert(1, f"This applies to the {product} and similar devices ({topic}).")
        batch.append(
            Article(
                section=rng.choice(sections),
                slug=f"generated-{index}",
                kind=rng.choice(["faq", "howto"]),
                status="published",
                title=f"{product}: {topic} question {index}",
                summary=f"What to do about {topic} with the {product}.",
                body="\n\n".join(paragraphs),
                updated_at=now,
                published_at=now,
            )
        )
    with transaction.atomic():
        created = Article.objects.bulk_create(batch, batch_size=500)
        for number, article in enumerate(created, 1):
            article_index_sync(article=article)
            if number % 2000 == 0:
                print(f"  indexed {number:,} generated articles", file=sys.stderr)


def _index_size(vendor: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size('helpcenter_article_search')")
        else:
            cursor.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'helpcenter_article_%fts%'"
            )
        return int(cursor.fetchone()[0] or 0)


def _cpu_per_run(fn: Callable[[], object], *, runs: int) -> float:
    """The process's own CPU time per call, in ms: steadier than wall time on a busy host
    (the database server's CPU is not in it on PostgreSQL)."""
    start = time.process_time()
    for _ in range(runs):
        fn()
    return round((time.process_time() - start) * 1000 / runs, 2)


def _child(engine: str, articles: int, fresh: bool, runs: int, pg_database: str) -> None:
    if engine == "postgres":
        use_database(pg_database)
    else:
        var = ROOT / "var" / "bench"
        var.mkdir(parents=True, exist_ok=True)
        os.environ.pop("DATABASE_URL", None)
        os.environ["IZONIE_VAR_DIR"] = str(var)
    django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from helpcenter.models import Article, SearchTerm
    from helpcenter.selectors import search_articles

    if fresh:
        call_command("migrate", "helpcenter", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
    if Article.objects.count() < articles:
        _generate(articles)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would after a bulk load
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO helpcenter_article_fts(helpcenter_article_fts) VALUES('optimize')"
            )
            cursor.execute("ANALYZE")
    total = Article.objects.count()
    queries = iter(QUERIES * (runs // len(QUERIES) + 20))

    search = timed(lambda: search_articles(query=next(queries), locale="en"), runs=runs)
    search["cpu_ms"] = _cpu_per_run(
        lambda: search_articles(query=next(queries), locale="en"), runs=runs
    )
    client = Client()
    pages = iter(QUERIES * (runs // len(QUERIES) + 20))
    search_page = timed(lambda: client.get("/help/search", {"q": next(pages)}), runs=runs)
    urls = [
        article.get_absolute_url()
        for article in Article.objects.select_related("section").order_by("?")[: runs + 20]
    ]
    article_urls = iter(urls)

    def article_page() -> None:
        response = client.get(next(article_urls))
        assert response.status_code == 200, response.status_code

    article = timed(article_page, runs=runs)
    print(
        json.dumps(
            {
                "engine": connection.vendor,
                "articles": total,
                "search": search,
                "search_page": search_page,
                "article_page": article,
                "index_bytes": _index_size(connection.vendor),
                "vocabulary_words": SearchTerm.objects.count(),
                "load_average": [round(load, 2) for load in os.getloadavg()],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--fresh", action="store_true", help="rebuild the generated articles")
    parser.add_argument(
        "--pg-database", default="izonie_bench_helpcenter", help="PostgreSQL database to fill"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.articles, args.fresh, args.runs, args.pg_database)
        return
    print(f"Help Center, {args.articles:,} articles, {args.runs} requests per figure")
    for engine in args.engines:
        command = [sys.executable, __file__, "--child", engine, "--articles", str(args.articles)]
        command += ["--runs", str(args.runs), "--pg-database", args.pg_database]
        command += ["--fresh"] if args.fresh else []
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        print(
            f"{result['engine']:>10}: {result['articles']:,} articles; "
            f"search p50 {result['search']['p50_ms']} ms, p95 {result['search']['p95_ms']} ms, "
            f"CPU {result['search']['cpu_ms']} ms / search; "
            f"search page p95 {result['search_page']['p95_ms']} ms; "
            f"article page p50 {result['article_page']['p50_ms']} ms, "
            f"p95 {result['article_page']['p95_ms']} ms; "
            f"index {result['index_bytes'] / 1_048_576:.1f} MiB; "
            f"typo vocabulary {result['vocabulary_words']:,} words; "
            f"load average {' '.join(str(load) for load in result['load_average'])}"
        )


if __name__ == "__main__":
    main()
