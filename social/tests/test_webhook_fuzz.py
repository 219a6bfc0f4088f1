"""Hypothesis against the Messenger/Instagram and TikTok webhooks and the drain behind them.

Bodies are arbitrary bytes, arbitrary JSON, and deliveries in the platforms' documented
shapes with wrong types, odd ids and NUL in their fields. They are posted with a valid
signature (computed here, so the body parser is reached), a wrong one, or none.

What must hold: never a 5xx, always the JSON error shape on a refusal; an unsigned or
badly signed body is never stored; a signed delivery accepted with a 200 is stored, and
the drain handles it without an unexpected error (a delivery it cannot handle would be
retried forever); the same delivery posted twice makes no second event or message.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.tests.fuzz import fuzz_settings
from social.models import DeliveryStatus, InboundEvent, WebhookDelivery
from social.services import deliveries_process_received
from social.tests.conftest import (
    IG_ID,
    PAGE_ID,
    TIKTOK_ID,
    meta_sign,
    tiktok_sign,
)
from tickets.models import Message

pytestmark = pytest.mark.django_db

URLS = {"meta": "/social/webhooks/meta/", "tiktok": "/social/webhooks/tiktok/"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Ids and texts as platforms send them, and as a forger or a broken proxy might.
ids = st.sampled_from([PAGE_ID, IG_ID, TIKTOK_ID, "psid-1", "", "x\x00y", "9" * 300]) | json_values
texts = st.text(max_size=60) | st.sampled_from(["Where is my order IZ-20461187?", "a\x00b"])


def anything_or(value: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the documented type, sometimes any JSON value in its place."""
    return st.one_of(value, value, value, json_values)


@st.composite
def meta_event(draw) -> Any:
    stamp = draw(anything_or(st.integers(0, 2**53)))
    kind = draw(st.sampled_from(["message", "postback", "reaction", "read", "delivery", "junk"]))
    body: dict[str, Any] = {}
    if kind == "message":
        body = {
            "mid": draw(anything_or(st.text(max_size=20) | st.just("m_\x00"))),
            "text": draw(anything_or(texts)),
            "is_echo": draw(anything_or(st.booleans())),
            "quick_reply": draw(anything_or(st.fixed_dictionaries({"payload": texts}))),
            "attachments": draw(
                anything_or(
                    st.lists(
                        anything_or(
                            st.fixed_dictionaries(
                                {
                                    "type": anything_or(st.sampled_from(["image", "file"])),
                                    # Never a real host: only malformed or refused schemes.
                                    "payload": anything_or(
                                        st.fixed_dictionaries(
                                            {"url": st.sampled_from(["", "not a url", "ftp://x"])}
                                        )
                                    ),
                                }
                            )
                        ),
                        max_size=2,
                    )
                )
            ),
        }
    elif kind in ("postback", "reaction", "read", "delivery"):
        body = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "mid": anything_or(st.text(max_size=20)),
                    "title": anything_or(texts),
                    "payload": anything_or(texts),
                    "emoji": anything_or(texts),
                    "action": anything_or(st.sampled_from(["react", "unreact"])),
                    "watermark": anything_or(st.integers()),
                },
            )
        )
    item = {
        "sender": draw(anything_or(st.fixed_dictionaries({"id": ids}))),
        "recipient": draw(anything_or(st.fixed_dictionaries({"id": ids}))),
        "timestamp": stamp,
        kind: draw(anything_or(st.just(body))),
    }
    return draw(st.one_of(st.just(item), st.just(item), json_values))


@st.composite
def meta_change(draw) -> Any:
    """An ``entry[].changes[]`` item: Instagram comments and mentions, Page feed changes."""
    field = draw(anything_or(st.sampled_from(["comments", "mentions", "feed", "live_comments"])))
    value = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": anything_or(st.text(max_size=20)),
                "comment_id": anything_or(st.text(max_size=20)),
                "media_id": anything_or(st.text(max_size=20)),
                "post_id": anything_or(st.text(max_size=20)),
                "parent_id": anything_or(st.text(max_size=20)),
                "text": anything_or(texts),
                "message": anything_or(texts),
                "from": anything_or(st.fixed_dictionaries({"id": ids, "username": texts})),
                "media": anything_or(st.fixed_dictionaries({"id": ids})),
                "item": anything_or(st.sampled_from(["comment", "reaction", "post"])),
                "verb": anything_or(st.sampled_from(["add", "edited", "remove"])),
                "created_time": anything_or(st.integers(0, 2**53) | st.text(max_size=25)),
                # Never a real host: only malformed or refused schemes.
                "photo": anything_or(st.sampled_from(["", "not a url", "ftp://x"])),
            },
        )
    )
    return draw(st.one_of(st.just({"field": field, "value": value}), json_values))


@st.composite
def meta_delivery(draw) -> Any:
    entries = draw(
        st.lists(
            anything_or(
                st.fixed_dictionaries(
                    {
                        "id": ids,
                        "time": anything_or(st.integers(0, 2**53)),
                        "messaging": anything_or(st.lists(meta_event(), max_size=3)),
                    },
                    optional={"changes": anything_or(st.lists(meta_change(), max_size=3))},
                )
            ),
            max_size=3,
        )
    )
    return {"object": draw(anything_or(st.sampled_from(["page", "instagram"]))), "entry": entries}


@st.composite
def tiktok_delivery(draw) -> Any:
    content = {
        "conversation_id": draw(anything_or(st.text(max_size=10))),
        "message_id": draw(anything_or(st.text(max_size=20))),
        "timestamp": draw(anything_or(st.integers(0, 2**53))),
        "type": draw(anything_or(st.sampled_from(["text", "image", "share_post", "video"]))),
        "from": draw(anything_or(texts)),
        "from_user": draw(anything_or(st.fixed_dictionaries({"id": ids}))),
        "text": draw(anything_or(st.fixed_dictionaries({"body": texts}))),
        "image": draw(anything_or(st.fixed_dictionaries({"media_id": st.text(max_size=10)}))),
        "share_post": draw(anything_or(st.fixed_dictionaries({"embed_url": texts}))),
    }
    encoded = draw(st.booleans())
    return {
        "event": draw(
            anything_or(st.sampled_from(["im_receive_msg", "im_send_msg", "im_mark_read_msg"]))
        ),
        "user_openid": draw(anything_or(ids)),
        "create_time": int(time.time()),
        "content": json.dumps(content) if encoded else draw(anything_or(st.just(content))),
    }


def _post(client: Client, source: str, body: bytes, signature: str | None):
    headers = {}
    if signature is not None:
        name = "HTTP_X_HUB_SIGNATURE_256" if source == "meta" else "HTTP_TIKTOK_SIGNATURE"
        headers[name] = signature
    return client.post(URLS[source], data=body, content_type="application/json", **headers)


def _signature(source: str, body: bytes, how: str) -> str | None:
    sign = meta_sign if source == "meta" else tiktok_sign
    return {
        "valid": sign(body),
        "other secret": sign(body, secret="not-our-secret"),
        "other body": sign(body + b" "),
        "garbage": "sha256=zz,t=1,s=\x7f",
        "missing": None,
    }[how]


def _assert_answer(response) -> None:
    assert response.status_code in (200, 400, 403, 413), response.content
    assert response["Content-Type"].startswith("application/json"), response.content
    if response.status_code != 200:
        assert set(response.json()) == {"code", "detail", "fields"}, response.content


@pytest.fixture
def accounts(fb_page, instagram, tiktok, platform):
    return fb_page, instagram, tiktok


@given(
    source=st.sampled_from(["meta", "tiktok"]),
    body=st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | meta_delivery().map(lambda v: json.dumps(v).encode())
    | tiktok_delivery().map(lambda v: json.dumps(v).encode()),
    how=st.sampled_from(["valid", "other secret", "other body", "garbage", "missing"]),
)
@example(source="meta", body=b"[" * 100_000, how="valid")
@example(source="tiktok", body=b'{"event": "x", "user_openid": 1, "content": 5}', how="valid")
@settings(
    fuzz_settings(max_examples=80),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_body_and_signature_get_a_clear_answer(accounts, source, body, how):
    with transaction.atomic():
        response = _post(Client(), source, body, _signature(source, body, how))
        _assert_answer(response)
        stored = WebhookDelivery.objects.count()
        if how != "valid":
            assert response.status_code == 403 and stored == 0
        else:
            assert stored == (1 if response.status_code == 200 else 0)
        transaction.set_rollback(True)


@given(
    deliveries=st.lists(
        st.tuples(st.just("meta"), meta_delivery())
        | st.tuples(st.just("tiktok"), tiktok_delivery()),
        min_size=1,
        max_size=3,
    )
)
@example(
    deliveries=[
        (
            "meta",
            {
                "object": "page",
                "entry": [
                    {
                        "id": PAGE_ID,
                        "messaging": [
                            {
                                "sender": {"id": "psid-\x00"},
                                "recipient": {"id": PAGE_ID},
                                "timestamp": 1,
                                "message": {"mid": "m_\x00", "text": "a\x00b"},
                            }
                        ],
                    }
                ],
            },
        )
    ]
)
@example(
    deliveries=[
        (
            "meta",
            {
                "object": "instagram",
                "entry": [
                    {
                        "id": IG_ID,
                        "changes": [
                            {
                                "field": "comments",
                                "value": {
                                    "id": "c\x001",
                                    "from": {"id": "igsid-\x00", "username": "a\x00b"},
                                    "text": "cracked\x00screen",
                                    "media": {"id": "m\x001"},
                                },
                            },
                            {"field": "mentions", "value": {"media_id": "m2", "comment_id": 5}},
                        ],
                    }
                ],
            },
        )
    ]
)
@settings(
    fuzz_settings(max_examples=30),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_signed_deliveries_posted_twice_are_handled_once(accounts, caplog, deliveries):
    client = Client()
    with transaction.atomic():
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            for source, payload in deliveries:
                body = json.dumps(payload).encode()
                _assert_answer(_post(client, source, body, _signature(source, body, "valid")))
            deliveries_process_received()
            events, messages = InboundEvent.objects.count(), Message.objects.count()
            assert not WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).exists()
            # The platforms retry: the same bodies again.
            for source, payload in deliveries:
                body = json.dumps(payload).encode()
                _assert_answer(_post(client, source, body, _signature(source, body, "valid")))
            deliveries_process_received()
            assert not WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).exists()
            assert (InboundEvent.objects.count(), Message.objects.count()) == (events, messages)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        transaction.set_rollback(True)
