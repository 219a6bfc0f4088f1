"""Fixtures for the social channels: connected accounts, the loopback platform server,
and signed deliveries in Meta's and TikTok's documented formats."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, TestCase

from conftest import run_queued_tasks
from social.models import Platform, SocialAccount
from social.tests.platform_server import PlatformServer

APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY_TOKEN = "izonie-verify-token"
PAGE_TOKEN = "EAAG-page-access-token-secret"
TIKTOK_SECRET = "tiktok-client-secret-abcdef"
TIKTOK_TOKEN = "act.tiktok-business-token"
PAGE_ID = "104857600001"
IG_ID = "17841400000000001"
TIKTOK_ID = "tt-business-openid-1"

_mids = itertools.count(1)


@pytest.fixture
def run_tasks() -> Callable[[], int]:
    """Work the task queue until it is empty, running on-commit callbacks as a real
    commit would (the test's transaction never commits): what the worker does."""

    def work() -> int:
        total = 0
        while True:
            with TestCase.captureOnCommitCallbacks(execute=True):
                ran = run_queued_tasks()
            total += ran
            if not ran:
                return total

    return work


@pytest.fixture
def platform(settings) -> Iterator[PlatformServer]:
    server = PlatformServer().start()
    settings.IZONIE_META_GRAPH_URL = server.url
    settings.IZONIE_TIKTOK_API_URL = server.url
    settings.IZONIE_SOCIAL_HTTP_TIMEOUT_SECONDS = 5
    # The fake platform also serves the attachments' media, from loopback: admitted for
    # this test only (core.outbound refuses loopback by default).
    settings.IZONIE_OUTBOUND_TEST_ORIGINS = [server.url]
    yield server
    server.stop()


@pytest.fixture
def fb_page(db) -> SocialAccount:
    return SocialAccount.objects.create(
        platform=Platform.FACEBOOK,
        external_id=PAGE_ID,
        name="Izonie",
        access_token=PAGE_TOKEN,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
    )


@pytest.fixture
def instagram(db) -> SocialAccount:
    return SocialAccount.objects.create(
        platform=Platform.INSTAGRAM,
        external_id=IG_ID,
        name="@izonie",
        access_token=PAGE_TOKEN,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
    )


@pytest.fixture
def tiktok(db) -> SocialAccount:
    return SocialAccount.objects.create(
        platform=Platform.TIKTOK,
        external_id=TIKTOK_ID,
        name="@izonie on TikTok",
        access_token=TIKTOK_TOKEN,
        app_secret=TIKTOK_SECRET,
    )


def new_mid() -> str:
    return f"m_{next(_mids):06d}AbC"


def text_event(
    sender: str,
    text: str,
    *,
    mid: str | None = None,
    recipient: str = PAGE_ID,
    timestamp_ms: int | None = None,
    **message: Any,
) -> dict[str, Any]:
    """One ``entry[].messaging[]`` item as Meta documents a text message."""
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp_ms or int(time.time() * 1000),
        "message": {"mid": mid or new_mid(), "text": text, **message},
    }


def meta_delivery(*entries: tuple[str, list[dict[str, Any]]], obj: str = "page") -> dict[str, Any]:
    return {
        "object": obj,
        "entry": [
            {"id": account_id, "time": int(time.time() * 1000), "messaging": items}
            for account_id, items in entries
        ],
    }


def meta_sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_meta(
    client: Client, payload: Any, *, signature: str | None = None, raw: bytes | None = None
):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature if signature is not None else meta_sign(body)}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/social/webhooks/meta/", data=body, content_type="application/json", **headers
        )


def tiktok_message(
    sender: str,
    text: str,
    *,
    message_id: str | None = None,
    conversation: str = "conv-1",
    kind: str = "text",
    name: str = "ada_k",
    event: str = "im_receive_msg",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A TikTok Business Messaging webhook: the content is a JSON string."""
    content: dict[str, Any] = {
        "conversation_id": conversation,
        "message_id": message_id or f"tt_{next(_mids)}",
        "timestamp": int(time.time() * 1000),
        "type": kind,
        "from": name,
        "from_user": {"id": sender},
        "to": "izonie",
        "to_user": {"id": TIKTOK_ID},
        **({"text": {"body": text}} if kind == "text" else {}),
        **(extra or {}),
    }
    return {
        "client_key": "awtiktokclientkey",
        "event": event,
        "create_time": int(time.time()),
        "user_openid": TIKTOK_ID,
        "content": json.dumps(content),
    }


def tiktok_sign(body: bytes, *, secret: str = TIKTOK_SECRET, timestamp: int | None = None) -> str:
    t = timestamp if timestamp is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},s={digest}"


def post_tiktok(
    client: Client, payload: Any, *, signature: str | None = None, raw: bytes | None = None
):
    body = raw if raw is not None else json.dumps(payload).encode()
    header = signature if signature is not None else tiktok_sign(body)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/social/webhooks/tiktok/",
            data=body,
            content_type="application/json",
            HTTP_TIKTOK_SIGNATURE=header,
        )
