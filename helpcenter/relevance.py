"""How well Help Center search answers what customers type: mean reciprocal rank and
nDCG@5 over the judged queries in ``helpcenter/tests/data/relevance.yaml``.

Read by ``bench/helpcenter_relevance.py`` (the figures, per engine) and by the test that
keeps them above a floor. The articles must be loaded (``content_load``) first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

JUDGED_QUERIES = Path(__file__).resolve().parent / "tests" / "data" / "relevance.yaml"
CUTOFF = 5


@dataclass(frozen=True)
class JudgedQuery:
    query: str
    # Best answer first (gain 2), then the other relevant articles (gain 1).
    relevant: tuple[str, ...]

    def gain(self, slug: str) -> int:
        if not self.relevant or slug not in self.relevant:
            return 0
        return 2 if slug == self.relevant[0] else 1


@dataclass(frozen=True)
class QueryResult:
    judged: JudgedQuery
    ranked: list[str]
    reciprocal_rank: float
    ndcg: float


@dataclass(frozen=True)
class Evaluation:
    results: list[QueryResult]

    @property
    def mrr(self) -> float:
        return sum(r.reciprocal_rank for r in self.results) / len(self.results)

    @property
    def ndcg(self) -> float:
        return sum(r.ndcg for r in self.results) / len(self.results)

    def worst(self, count: int = 10) -> list[QueryResult]:
        return sorted(self.results, key=lambda r: (r.reciprocal_rank, r.ndcg))[:count]


def judged_queries(path: Path = JUDGED_QUERIES) -> list[JudgedQuery]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [JudgedQuery(str(row["q"]), tuple(row["relevant"])) for row in rows]


def _dcg(gains: list[int]) -> float:
    return sum((2**gain - 1) / math.log2(rank + 2) for rank, gain in enumerate(gains))


def score(judged: JudgedQuery, ranked: list[str]) -> QueryResult:
    reciprocal = next(
        (1 / rank for rank, slug in enumerate(ranked, 1) if slug in judged.relevant), 0.0
    )
    ideal = _dcg(sorted((judged.gain(slug) for slug in judged.relevant), reverse=True)[:CUTOFF])
    ndcg = _dcg([judged.gain(slug) for slug in ranked[:CUTOFF]]) / ideal if ideal else 0.0
    return QueryResult(judged, ranked, reciprocal, ndcg)


def evaluate(*, locale: str = "en", limit: int = 10) -> Evaluation:
    from helpcenter.selectors import search_articles

    results = []
    for judged in judged_queries():
        hits = search_articles(query=judged.query, locale=locale, limit=limit).hits
        results.append(score(judged, [hit.article.slug for hit in hits]))
    return Evaluation(results)
