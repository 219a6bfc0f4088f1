"""The webhook endpoints: Meta's subscription check, signatures on every POST, and every
kind of bad input answered with a clear JSON error and nothing stored."""

from __future__ import annotations

import json
import time

import pytest
from django_tasks_db.models import DBTaskResult

from social.models import DeliveryStatus, InboundEvent, WebhookDelivery
from social.tests.conftest import (
    APP_SECRET,
    PAGE_ID,
    VERIFY_TOKEN,
    meta_delivery,
    meta_sign,
    post_meta,
    post_tiktok,
    text_event,
    tiktok_message,
    tiktok_sign,
)

pytestmark = pytest.mark.django_db


def test_subscription_check_echoes_the_challenge(client, fb_page):
    response = client.get(
        "/social/webhooks/meta/",
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"


def test_subscription_check_with_a_wrong_verify_token_is_refused(client, fb_page):
    response = client.get(
        "/social/webhooks/meta/",
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_verify_token"
    assert b"1158201444" not in response.content


def test_a_signed_delivery_is_stored_and_acknowledged(client, fb_page):
    payload = meta_delivery((PAGE_ID, [text_event("psid-1", "Hi"), text_event("psid-2", "Hello")]))
    response = post_meta(client, payload)
    assert response.status_code == 200
    assert response.json()["received"] == 2
    delivery = WebhookDelivery.objects.get()
    assert json.loads(bytes(delivery.body)) == payload  # the raw body, as received
    assert delivery.status == DeliveryStatus.RECEIVED
    # Processing is queued for the worker, not done in the request.
    assert DBTaskResult.objects.get().task_path == "social.tasks.process_received_deliveries"


def test_deliveries_arriving_together_share_one_drain_that_handles_them_all(
    client, fb_page, platform, run_tasks, settings
):
    from social import services

    settings.IZONIE_SOCIAL_DRAIN_DELAY_SECONDS = 0.5
    services.planned_drain.forget()
    for n in range(3):
        post_meta(client, meta_delivery((PAGE_ID, [text_event(f"psid-{n}", "Where is my order?")])))

    assert DBTaskResult.objects.count() == 1  # one drain, planned half a second ahead
    assert run_tasks() == 0  # not due yet
    time.sleep(0.6)
    run_tasks()
    drains = DBTaskResult.objects.filter(task_path="social.tasks.process_received_deliveries")
    assert [d.status for d in drains] == ["SUCCESSFUL"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.PROCESSED
    }
    assert InboundEvent.objects.count() == 3

    # Once that drain has had its turn, the next delivery queues a new one.
    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-9", "Hello?")])))
    assert drains.filter(status="READY").count() == 1


def test_a_drain_out_of_time_hands_the_rest_of_the_backlog_to_a_new_run(
    client, fb_page, platform, run_tasks, settings
):
    from social import services

    for n in range(3):
        post_meta(client, meta_delivery((PAGE_ID, [text_event(f"psid-{n}", "Where is it?")])))
    DBTaskResult.objects.all().delete()
    # Deliveries are handled a slice at a time (social/drain.py): a slice of one here.
    settings.IZONIE_SOCIAL_DRAIN_SLICE = 1

    # With no time at all, a run still handles one slice, so every run makes progress.
    drained = services.deliveries_process_received(max_seconds=0)
    assert drained == services.DrainResult(new_events=1, finished=False)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).count() == 2

    # The task queues its successor until the backlog is gone, so a worker asked to stop
    # waits for one bounded run, not for the whole backlog.
    settings.IZONIE_SOCIAL_DRAIN_MAX_SECONDS = 0
    from social.tasks import process_received_deliveries

    process_received_deliveries.enqueue()
    run_tasks()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.PROCESSED
    }
    assert InboundEvent.objects.count() == 3
    drains = DBTaskResult.objects.filter(task_path="social.tasks.process_received_deliveries")
    assert drains.count() == 3  # one per delivery left, the last finding nothing more
    assert set(drains.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        ("", "missing"),
        ("sha256=" + "0" * 64, "wrong"),
        ("sha1=abcdef", "other algorithm"),
        (meta_sign(b'{"object": "page", "entry": []}'), "signature of a different body"),
        (meta_sign(b"x", secret="another-app-secret"), "another app's secret"),
    ],
)
def test_a_post_without_our_signature_is_refused(client, fb_page, signature, why):
    payload = meta_delivery((PAGE_ID, [text_event("psid-1", "Hi")]))
    response = post_meta(client, payload, signature=signature)
    assert response.status_code == 403, why
    assert response.json()["code"] == "invalid_signature"
    assert "X-Hub-Signature-256" in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def test_a_new_app_secret_applies_to_the_next_delivery(client, fb_page):
    payload = meta_delivery((PAGE_ID, [text_event("psid-1", "Hi")]))
    assert post_meta(client, payload).status_code == 200  # the secrets are now cached
    fb_page.app_secret = "rotated-app-secret"
    fb_page.save()

    body = json.dumps(payload).encode()
    old = post_meta(client, payload)
    new = post_meta(client, payload, signature=meta_sign(body, secret="rotated-app-secret"))

    assert old.status_code == 403
    assert new.status_code == 200


def test_nothing_is_accepted_until_an_account_has_an_app_secret(client):
    response = post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-1", "Hi")])))
    assert response.status_code == 403
    assert response.json()["code"] == "not_configured"


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'{"object": "page", "entry": [', "not JSON"),
        (b'"just a string"', "str, not an object"),
        (b"[1, 2, 3]", "list, not an object"),
        (b"\xff\xfe garbage", "not JSON"),
        (b'{"object": "whatsapp_business_account", "entry": []}', "object must be one of"),
        (b'{"object": "page", "entry": {"id": "1"}}', "entry must be a list"),
        (b'{"object": "page", "entry": [{"id": "1", "messaging": "hi"}]}', "must be a list"),
    ],
)
def test_a_signed_body_that_is_not_a_delivery_is_refused(client, fb_page, raw, detail):
    response = post_meta(client, None, raw=raw, signature=meta_sign(raw))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert detail in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def test_a_delivery_with_thousands_of_events_is_refused(client, fb_page, settings):
    settings.IZONIE_SOCIAL_MAX_BODY_BYTES = 10 * 1024 * 1024
    items = [text_event(f"psid-{n}", "spam") for n in range(1500)]
    response = post_meta(client, meta_delivery((PAGE_ID, items)))
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_events"
    assert "1500 events" in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(client, fb_page, settings):
    settings.IZONIE_SOCIAL_MAX_BODY_BYTES = 1000
    payload = meta_delivery((PAGE_ID, [text_event("psid-1", "x" * 2000)]))
    response = post_meta(client, payload)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_secrets_are_not_in_the_logs_of_a_refusal(client, fb_page, caplog):
    post_meta(client, meta_delivery((PAGE_ID, [])), signature="sha256=" + "1" * 64)
    assert caplog.records  # the refusal is logged...
    assert APP_SECRET not in caplog.text  # ...without the secret


# --- TikTok


def test_a_signed_tiktok_event_is_stored(client, tiktok):
    response = post_tiktok(client, tiktok_message("tt-user-1", "Hello"))
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().source == "tiktok"


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("", "missing or malformed"),
        ("t=abc,s=def", "missing or malformed"),
        ("t={now},s=" + "0" * 64, "does not match"),
    ],
    ids=["missing", "malformed", "wrong"],
)
def test_a_tiktok_event_without_our_signature_is_refused(client, tiktok, header, detail):
    # The time is filled in here, not in the parameter: a parameter (its id) must be the
    # same in every process that collects the tests.
    header = header.format(now=int(time.time()))
    response = post_tiktok(client, tiktok_message("tt-user-1", "Hello"), signature=header)
    assert response.status_code == 403
    assert detail in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def test_a_replayed_old_tiktok_delivery_is_refused(client, tiktok):
    body = json.dumps(tiktok_message("tt-user-1", "Hello")).encode()
    old = tiktok_sign(body, timestamp=int(time.time()) - 3600)
    response = post_tiktok(client, None, raw=body, signature=old)
    assert response.status_code == 403
    assert "replayed or delayed" in response.json()["detail"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("raw", [b"not json", b'"a string"', b"[]", b'{"event": "im_receive_msg"}'])
def test_a_signed_tiktok_body_that_is_not_an_event_is_refused(client, tiktok, raw):
    response = post_tiktok(client, None, raw=raw, signature=tiktok_sign(raw))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("source", ["meta", "tiktok"])
def test_signed_json_nested_too_deeply_is_a_400_not_a_500(client, fb_page, tiktok, source):
    # Found by test_webhook_fuzz: json.loads raised RecursionError past the signature check.
    body = b"[" * 100_000 + b"]" * 100_000
    post = post_meta if source == "meta" else post_tiktok
    response = post(client, None, raw=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert not WebhookDelivery.objects.exists()


def test_a_signed_delivery_whose_object_is_not_a_string_is_a_400(client, fb_page):
    # Found by test_webhook_fuzz: {"object": []} was a TypeError (500) in the envelope check.
    response = post_meta(client, {"object": [], "entry": []})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert not WebhookDelivery.objects.exists()


def test_fields_of_the_wrong_type_do_not_leave_a_delivery_stuck(client, fb_page, tiktok, platform):
    # Found by test_webhook_fuzz: {"sender": []} or {"from_user": "x"} raised AttributeError
    # in the drain, which left the delivery RECEIVED and retried (and logged) forever.
    from social.services import deliveries_process_received

    event = text_event("psid-1", "Hi")
    event["sender"] = ["psid-1"]
    post_meta(client, meta_delivery((PAGE_ID, [event])))
    message = tiktok_message("tt-user", "Hi")
    content = json.loads(message["content"])
    content["from_user"], content["text"] = "tt-user", ["Hi"]
    message["content"] = json.dumps(content)
    post_tiktok(client, message)

    deliveries_process_received()

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.PROCESSED
    }
    assert InboundEvent.objects.count() == 2


def test_nul_in_a_signed_event_is_dropped_not_a_stuck_delivery(client, fb_page, platform):
    # Found by test_webhook_fuzz on PostgreSQL, whose text cannot hold NUL: the event's
    # insert failed and the delivery stayed RECEIVED, retried on every drain.
    from social.services import deliveries_process_received

    post_meta(client, meta_delivery((PAGE_ID, [text_event("psid-\x00", "a\x00b", mid="m_\x00")])))
    deliveries_process_received()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED
    event = InboundEvent.objects.get()
    assert (event.key, event.sender_id) == ("m_", "psid-")
