"""Report pages and their CSV exports, for supervisors and admins."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import supervisor_required
from policy.loader import get_policy
from policy.selectors import zone_label
from reports import exports, selectors
from reports.overview import overview
from reports.ranges import DateRange, RangeError, parse_range


def _kind(slug: str) -> selectors.ReportKind:
    kind = selectors.REPORTS.get(slug)
    if kind is None:
        raise Http404("No such report.")
    return kind


def _context(request: HttpRequest) -> dict:
    policy = get_policy()
    return {
        "reports": selectors.REPORTS.values(),
        "team_zone": zone_label(policy, timezone.now()),
        "today": timezone.localdate(timezone.now(), policy.calendar.zone),
    }


@supervisor_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/index.html", _context(request) | {"o": overview()})


def _range_or_error(request: HttpRequest) -> tuple[DateRange | None, str]:
    try:
        return parse_range(request.GET), ""
    except RangeError as exc:
        return None, str(exc)


@supervisor_required
def report(request: HttpRequest, slug: str) -> HttpResponse:
    kind = _kind(slug)
    span, error = _range_or_error(request)
    context = _context(request) | {
        "kind": kind,
        "error": error,
        "span": span,
        "raw_from": request.GET.get("from", "")[:40],
        "raw_to": request.GET.get("to", "")[:40],
    }
    if span is None:
        return render(request, "reports/report.html", context, status=400)
    context["report"] = kind.build(span)
    context["raw_from"], context["raw_to"] = span.first.isoformat(), span.last.isoformat()
    return render(request, "reports/report.html", context)


@supervisor_required
def export(request: HttpRequest, slug: str) -> HttpResponse:
    kind = _kind(slug)
    span, error = _range_or_error(request)
    if span is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    header, rows = kind.csv(span)
    name = f"izonie-{slug}-{span.first:%Y%m%d}-{span.last:%Y%m%d}.csv"
    return exports.csv_response(name, header, rows)


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last
