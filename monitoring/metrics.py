"""Prometheus metrics about the support work itself (``/metrics``).

The figures come from the database, so every process answers the same and rates work
across processes: Prometheus' ``rate()`` over the ``*_total`` counters gives mail and
webhook rates. They are computed at most every ``IZONIE_METRICS_CACHE_SECONDS`` (15 s) per
process, so frequent scrapes cost the database nothing more, and a scrape runs on one HTTP
thread like any request: it never holds a lock another request waits on.

Per-process figures (open chat sockets, request latencies from django-prometheus) are
only that process's: scrape each web process on its own port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Chat WebSockets open in this process, by kind ("customer", "agent"); the consumers keep it.
open_chat_sockets: dict[str, int] = {"customer": 0, "agent": 0}
_sockets_lock = threading.Lock()


def chat_socket_opened(kind: str) -> None:
    with _sockets_lock:
        open_chat_sockets[kind] = open_chat_sockets.get(kind, 0) + 1


def chat_socket_closed(kind: str) -> None:
    with _sockets_lock:
        open_chat_sockets[kind] = max(0, open_chat_sockets.get(kind, 0) - 1)


def _support_metrics() -> list[Metric]:
    from django_tasks_db.models import DBTaskResult

    from chat.models import ChatSession, SessionState
    from mail.models import InboundEmail
    from sla.models import SlaClock
    from social.models import WebhookDelivery
    from tickets.choices import DeliveryStatus
    from tickets.models import OutboundMessage, Ticket

    now = timezone.now()
    tickets = GaugeMetricFamily(
        "izonie_tickets", "Tickets by status (resolved and closed excluded).", labels=["status"]
    )
    for row in (
        Ticket.objects.exclude(status__in=("resolved", "closed"))
        .values("status")
        .annotate(n=Count("id"))
    ):
        tickets.add_metric([row["status"]], row["n"])

    queue = GaugeMetricFamily(
        "izonie_chat_queue", "Live chats waiting for an agent.", labels=["measure"]
    )
    waiting = ChatSession.objects.filter(state=SessionState.WAITING).aggregate(
        n=Count("id"), oldest=Min("queued_at")
    )
    queue.add_metric(["waiting"], waiting["n"])
    oldest_wait = (now - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0
    queue.add_metric(["longest_wait_seconds"], oldest_wait)

    sockets = GaugeMetricFamily(
        "izonie_chat_sockets", "Chat WebSockets open in this process.", labels=["kind"]
    )
    for kind, count in open_chat_sockets.items():
        sockets.add_metric([kind], count)

    sla = GaugeMetricFamily(
        "izonie_sla_clocks",
        "Running SLA clocks past their warning point or breached, by promise.",
        labels=["promise", "state"],
    )
    for row in (
        SlaClock.objects.filter(status="running", warned_at__isnull=False)
        .values("target_id")
        .annotate(n=Count("id"))
    ):
        sla.add_metric([row["target_id"], "warned"], row["n"])
    breaches = CounterMetricFamily(
        "izonie_sla_breaches", "SLA clocks that breached, by promise.", labels=["promise"]
    )
    for row in (
        SlaClock.objects.filter(breached_at__isnull=False)
        .values("target_id")
        .annotate(n=Count("id"))
    ):
        breaches.add_metric([row["target_id"]], row["n"])

    outbox = GaugeMetricFamily(
        "izonie_outbox", "Outbound deliveries not sent, by state.", labels=["status"]
    )
    for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
        outbox.add_metric([status], OutboundMessage.objects.filter(status=status).count())

    tasks = GaugeMetricFamily(
        "izonie_task_queue", "Background tasks ready to run.", labels=["measure"]
    )
    ready = DBTaskResult.objects.ready().aggregate(n=Count("id"), oldest=Min("enqueued_at"))
    tasks.add_metric(["depth"], ready["n"])
    tasks.add_metric(
        ["oldest_age_seconds"], (now - ready["oldest"]).total_seconds() if ready["oldest"] else 0
    )

    # The highest id stands for the count: ids only grow, it is one index look-up where a
    # COUNT(*) scans millions of rows, and rate() over it is the arrival rate.
    inbound = CounterMetricFamily(
        "izonie_inbound", "Inbound emails and social webhook deliveries stored.", labels=["kind"]
    )
    for kind, model in (("email", InboundEmail), ("webhook", WebhookDelivery)):
        inbound.add_metric([kind], model.objects.aggregate(last=Max("id"))["last"] or 0)
    return [tickets, queue, sockets, sla, breaches, outbox, tasks, inbound]


class SupportCollector(Collector):
    """Collects the support metrics, keeping the last answer for a few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._cached_at = 0.0

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._cached_at >= settings.IZONIE_METRICS_CACHE_SECONDS:
                self._cached = _support_metrics()
                self._cached_at = time.monotonic()
            yield from self._cached
