"""Responses shared by the plain Django JSON endpoints (chat, Help Center, mail webhooks)."""

from __future__ import annotations

from django.http import JsonResponse


def problem_response(
    status: int, code: str, detail: str, fields: dict[str, str] | None = None
) -> JsonResponse:
    """An error in the API's shape: ``{"code", "detail", "fields"}`` (see config/api.py)."""
    return JsonResponse({"code": code, "detail": detail, "fields": fields or {}}, status=status)
