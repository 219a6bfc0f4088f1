"""The Meta and TikTok webhook endpoints: check, store raw, answer at once.

Every POST is verified on its raw body before anything is parsed, then stored and
acknowledged; the worker turns it into tickets (``services.delivery_process``), so the
answer does not wait for profile look-ups or attachment downloads (Meta retries a slow
endpoint and eventually disables it). Refusals are JSON in the API's error shape:
403 for a missing or wrong signature or verify token, 400 for a body that is not a
delivery, 413 for one too large. A signed delivery naming an account we do not have
is answered 200 and each of its events is kept as ignored with the reason: refusing it
would only make Meta send it again for hours.
"""

from __future__ import annotations

import hmac
import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.http import problem_response
from social.models import Platform, SocialAccount
from social.payloads import PayloadError, load_object, meta_event_count, tiktok_check
from social.selectors import webhook_secrets
from social.services import delivery_store
from social.signatures import TikTokSignatureError, meta_signature_valid, tiktok_signature_check

logger = logging.getLogger(__name__)

META_PLATFORMS = (Platform.FACEBOOK, Platform.INSTAGRAM)


def _too_large(request: HttpRequest) -> JsonResponse | None:
    limit = settings.IZONIE_SOCIAL_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        logger.warning("Social webhook refused: body of %s bytes", declared)
        return problem_response(
            413, "payload_too_large", f"The body is {declared} bytes; at most {limit} are accepted."
        )
    return None


def _verify_subscription(request: HttpRequest) -> HttpResponse:
    """Meta's subscription check: echo hub.challenge when hub.verify_token is ours."""
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    tokens = (
        SocialAccount.objects.filter(platform__in=META_PLATFORMS, active=True)
        .exclude(verify_token="")
        .values_list("verify_token", flat=True)
    )
    matched = False
    for known in tokens:
        matched |= hmac.compare_digest(known.encode(), token.encode())
    if mode != "subscribe" or not matched:
        logger.warning("Meta subscription check refused (mode %r)", mode[:20])
        return problem_response(
            403, "invalid_verify_token", "hub.mode must be subscribe and hub.verify_token ours."
        )
    return HttpResponse(challenge, content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify_subscription(request)
    refused = _too_large(request)
    if refused is not None:
        return refused
    secrets = webhook_secrets(META_PLATFORMS)
    if not secrets:
        logger.error("Meta webhook refused: no Facebook or Instagram account has an app secret")
        return problem_response(403, "not_configured", "This webhook is not configured.")
    body = request.body
    if not meta_signature_valid(
        header=request.headers.get("X-Hub-Signature-256", ""), body=body, secrets=secrets
    ):
        logger.warning("Meta webhook refused: missing or wrong X-Hub-Signature-256")
        return problem_response(
            403,
            "invalid_signature",
            "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of this body with our "
            "app secret.",
        )
    try:
        count = meta_event_count(load_object(body))
    except PayloadError as exc:
        logger.warning("Meta webhook refused: %s", exc)
        return problem_response(400, "invalid_payload", str(exc))
    limit = settings.IZONIE_SOCIAL_MAX_EVENTS_PER_DELIVERY
    if count > limit:
        logger.warning("Meta webhook refused: %s events in one delivery", count)
        return problem_response(
            413,
            "too_many_events",
            f"The delivery has {count} events; at most {limit} are accepted.",
        )
    delivery = delivery_store(source="meta", body=body, event_count=count)
    return JsonResponse({"received": count, "delivery": delivery.pk})


@csrf_exempt
@require_http_methods(["POST"])
def tiktok_webhook(request: HttpRequest) -> HttpResponse:
    refused = _too_large(request)
    if refused is not None:
        return refused
    secrets = webhook_secrets((Platform.TIKTOK,))
    if not secrets:
        logger.error("TikTok webhook refused: no TikTok account has a client secret")
        return problem_response(403, "not_configured", "This webhook is not configured.")
    body = request.body
    try:
        tiktok_signature_check(
            header=request.headers.get("TikTok-Signature", ""),
            body=body,
            secrets=secrets,
            now=time.time(),
            tolerance_seconds=settings.IZONIE_TIKTOK_SIGNATURE_TOLERANCE_SECONDS,
        )
    except TikTokSignatureError as exc:
        logger.warning("TikTok webhook refused: %s", exc)
        return problem_response(403, "invalid_signature", str(exc))
    try:
        tiktok_check(load_object(body))
    except PayloadError as exc:
        logger.warning("TikTok webhook refused: %s", exc)
        return problem_response(400, "invalid_payload", str(exc))
    delivery = delivery_store(source="tiktok", body=body, event_count=1)
    return JsonResponse({"received": 1, "delivery": delivery.pk})
