"""Inbound mail from providers (Mailgun, SendGrid, Postmark, Amazon SES) through
django-anymail's inbound webhooks, each with its provider's check, into ``ingest_raw``.

Anymail verifies each request (Mailgun: the HMAC signature with the webhook signing
key; SendGrid and Postmark, which do not sign inbound posts: HTTP basic auth with our
shared secret, set in the provider's webhook URL; Amazon SES through SNS: the secret,
and the SNS message signature, which mail/sns.py verifies) and parses the payload into
a message; ``inbound_received`` stores it. Our views add two things: they fail closed
when no secret is configured, and they answer a rejected or malformed request with a
JSON 4xx in the API's error shape instead of an HTML error page.
"""

from __future__ import annotations

import email.message
import email.policy
import functools
import logging
import warnings
from collections.abc import Callable
from typing import Any

from anymail.exceptions import (
    AnymailError,
    AnymailInsecureWebhookWarning,
    AnymailWebhookValidationFailure,
)
from anymail.signals import AnymailInboundEvent
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from core.http import problem_response
from mail.authentication import (
    Evidence,
    amazon_ses_evidence,
    mailgun_evidence,
    postmark_evidence,
    sendgrid_evidence,
)
from mail.intake import ingest_raw
from mail.sns import SnsSignatureError, verify_sns_message

logger = logging.getLogger(__name__)


class _Guarded:
    """Mixed in before an anymail inbound view."""

    # Whether the provider's only protection is our basic-auth secret.
    needs_basic_auth = True
    basic_auth: list[str]

    def __init__(self, **kwargs: Any) -> None:
        self.setup_problem = ""
        try:
            with warnings.catch_warnings():
                # Anymail warns when no secret is set; we refuse every request then.
                warnings.simplefilter("ignore", AnymailInsecureWebhookWarning)
                super().__init__(**kwargs)
        except ImproperlyConfigured as exc:  # e.g. no Mailgun signing key
            self.setup_problem = str(exc).splitlines()[0]
            self.basic_auth = []
        if not self.setup_problem and self.needs_basic_auth and not self.basic_auth:
            self.setup_problem = "ANYMAIL WEBHOOK_SECRET is not set"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.setup_problem:
            logger.error("Inbound webhook refused: %s", self.setup_problem)
            return problem_response(
                403, "not_configured", "This inbound webhook is not configured."
            )
        try:
            return super().post(request, *args, **kwargs)  # type: ignore[misc]
        except AnymailWebhookValidationFailure as exc:
            return problem_response(403, "invalid_signature", str(exc))
        except (AnymailError, ValueError, KeyError, TypeError) as exc:
            return problem_response(400, "invalid_payload", f"Unusable inbound payload: {exc}")


class MailgunInbound(_Guarded, MailgunInboundWebhookView):
    needs_basic_auth = False  # signed with the webhook signing key


class SendGridInbound(_Guarded, SendGridInboundWebhookView):
    pass


class PostmarkInbound(_Guarded, PostmarkInboundWebhookView):
    pass


@functools.cache
def _amazon_ses_view() -> Callable[..., HttpResponse]:
    # Anymail's SES view imports boto3, about a third of the time every process (web,
    # worker, management command) took to import the project: it comes with the first
    # SES delivery instead.
    from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView

    class AmazonSESInbound(_Guarded, AmazonSESInboundWebhookView):
        def run_validators(self, request: HttpRequest) -> None:
            super().run_validators(request)  # the secret first: strangers cause no fetch
            try:
                verify_sns_message(self._parse_sns_message(request))
            except SnsSignatureError as exc:
                raise AnymailWebhookValidationFailure(f"Amazon SNS: {exc}") from exc

    return AmazonSESInbound.as_view()


@csrf_exempt
def amazon_ses_inbound(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return _amazon_ses_view()(request, *args, **kwargs)


def _raw_bytes(message: email.message.Message) -> bytes:
    """The message as bytes; a header the modern generator refuses to write is written
    as it came (compat32), so such mail is quarantined or kept, never refused with 500s
    that the provider would retry forever."""
    try:
        return message.as_bytes()
    except Exception:
        try:
            return message.as_bytes(policy=email.policy.compat32)
        except Exception:
            return str(message).encode("utf-8", "replace")


def provider_evidence(esp_name: str, event: AnymailInboundEvent) -> Evidence | None:
    """The provider's own SPF/DKIM/DMARC/spam verdict on the mail, read from where that
    provider puts it (mail/authentication.py); None for a provider we cannot read."""
    message = event.message
    if message is None:
        return None
    headers = [(str(k), str(v)) for k, v in message.items()]
    envelope = str(message.envelope_sender or "")
    name = esp_name.lower()
    if name == "mailgun":
        return mailgun_evidence(headers, envelope)
    if name == "sendgrid" and isinstance(event.esp_event, HttpRequest):
        return sendgrid_evidence(event.esp_event.POST)
    if name == "postmark":
        return postmark_evidence(headers, envelope)
    if name == "amazon ses" and isinstance(event.esp_event, dict):
        return amazon_ses_evidence(event.esp_event.get("receipt") or {}, headers, envelope)
    return None


def inbound_received(sender: object, event: AnymailInboundEvent, esp_name: str, **_: Any) -> None:
    """anymail's ``inbound`` signal: one received mail, whichever provider sent it."""
    message = event.message
    if message is None:
        return
    ingest_raw(
        raw=_raw_bytes(message),
        source=f"webhook:{esp_name.lower().replace(' ', '-')}"[:32],
        provider_id=f"{esp_name}:{event.event_id}" if event.event_id else "",
        evidence=provider_evidence(esp_name, event),
    )
