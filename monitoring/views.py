"""``/readyz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import REGISTRY as PROCESS_REGISTRY

from monitoring.metrics import SupportCollector
from monitoring.readiness import readiness

SUPPORT_REGISTRY = CollectorRegistry(auto_describe=False)
SUPPORT_REGISTRY.register(SupportCollector())


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """200 when this process can serve: database, migrations, channel layer, task queue lag,
    mail fetcher; otherwise 503 naming what is wrong."""
    results = readiness()
    ok = all(result.ok for result in results)
    response = JsonResponse(
        {
            "status": "ready" if ok else "not_ready",
            "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
        },
        status=200 if ok else 503,
    )
    if not ok:
        response["Retry-After"] = "10"
    return response


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.IZONIE_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    # Without a token only this machine may scrape (a Prometheus agent beside the process).
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        return JsonResponse(
            {
                "code": "forbidden",
                "detail": "Metrics need the bearer token set in IZONIE_METRICS_TOKEN.",
            },
            status=403,
        )
    body = generate_latest(PROCESS_REGISTRY) + generate_latest(SUPPORT_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
