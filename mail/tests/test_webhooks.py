"""Provider inbound webhooks, with each provider's documented payload, and each
provider's check passing and failing."""

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import png_bytes
from mail.models import InboundEmail, InboundStatus
from mail.sns import _certificate
from mail.tests.test_intake import mail
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

SECRET = "izonie:s3cret-webhook"
SIGNING_KEY = "key-mailgun-signing-0123456789"
RAW = mail(
    sender="Chioma <chioma@example.com>",
    subject="Phone arrived broken",
    body="The screen is cracked.",
    message_id="<wh1@example.com>",
)


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def basic_auth(credentials: str = SECRET) -> dict:
    token = base64.b64encode(credentials.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def mailgun_form(raw: bytes, key: str = SIGNING_KEY) -> dict:
    # Mailgun's forward() route to a URL ending in "mime": the raw message in body-mime,
    # signed as HMAC-SHA256(key, timestamp + token).
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "recipient": "support@izonie.com",
        "sender": "chioma@example.com",
        "from": "Chioma <chioma@example.com>",
        "subject": "Phone arrived broken",
        "body-mime": raw.decode(),
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
    }


def sendgrid_form(raw: bytes) -> dict:
    # SendGrid Inbound Parse with "POST the raw, full MIME message".
    return {
        "email": raw.decode(),
        "to": "support@izonie.com",
        "from": "Chioma <chioma@example.com>",
        "subject": "Phone arrived broken",
        "envelope": json.dumps({"to": ["support@izonie.com"], "from": "chioma@example.com"}),
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8"}),
        "SPF": "pass",
        "spam_score": "0.1",
    }


def postmark_json(message_id: str = "<wh1@example.com>") -> str:
    # Postmark's inbound JSON (no raw message unless RawEmail is switched on).
    return json.dumps(
        {
            "FromName": "Chioma",
            "MessageStream": "inbound",
            "From": "chioma@example.com",
            "FromFull": {"Email": "chioma@example.com", "Name": "Chioma", "MailboxHash": ""},
            "To": "support@izonie.com",
            "ToFull": [{"Email": "support@izonie.com", "Name": "", "MailboxHash": ""}],
            "Cc": "Emeka <emeka@example.com>",
            "CcFull": [{"Email": "emeka@example.com", "Name": "Emeka", "MailboxHash": ""}],
            "Bcc": "",
            "BccFull": [],
            "OriginalRecipient": "support@izonie.com",
            "Subject": "Phone arrived broken",
            "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
            "ReplyTo": "",
            "MailboxHash": "",
            "Date": "Wed, 25 Nov 2026 09:00:00 +0100",
            "TextBody": "The screen is cracked.",
            "HtmlBody": "<p>The screen is <b>cracked</b>.</p>",
            "StrippedTextReply": "",
            "Tag": "",
            "Headers": [
                {"Name": "X-Spam-Status", "Value": "No"},
                {"Name": "Message-ID", "Value": message_id},
            ],
            "Attachments": [
                {
                    "Name": "receipt.pdf",
                    "Content": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
                    "ContentType": "application/pdf",
                    "ContentLength": 15,
                }
            ],
        }
    )


class SnsSigner:
    """Signs SNS messages as Amazon does, with a certificate served on loopback."""

    def __init__(self, url: str, key):
        self.url, self.key, self.version = url, key, "2"

    def sign(self, message: dict) -> dict:
        # The documented canonical form: "Key\nvalue\n" for these keys, in this order.
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)
        digest = hashes.SHA256() if self.version == "2" else hashes.SHA1()  # noqa: S303
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": self.version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": self.url,
        }


@pytest.fixture(autouse=True)
def sns_signer(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(pem)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    settings.IZONIE_SNS_CERT_URL_PATTERN = rf"^http://127\.0\.0\.1:{port}/"
    _certificate.cache_clear()
    yield SnsSigner(f"http://127.0.0.1:{port}/SimpleNotificationService.pem", key)
    _certificate.cache_clear()
    server.shutdown()


SIGNER: list[SnsSigner] = []


@pytest.fixture(autouse=True)
def _current_signer(sns_signer):
    SIGNER[:] = [sns_signer]


def ses_notification(raw: bytes, tamper: bool = False) -> tuple[str, dict]:
    # Amazon SES receipt rule with an SNS action (BASE64), delivered by SNS over HTTPS.
    ses_event = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-11-25T09:00:00.000Z",
            "source": "chioma@example.com",
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
            "destination": ["support@izonie.com"],
            "headersTruncated": False,
            "headers": [{"name": "Message-ID", "value": "<wh1@example.com>"}],
            "commonHeaders": {"from": ["Chioma <chioma@example.com>"], "subject": "Phone"},
        },
        "receipt": {
            "timestamp": "2026-11-25T09:00:00.000Z",
            "processingTimeMillis": 222,
            "recipients": ["support@izonie.com"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:eu-west-1:123456789012:izonie-inbound",
                "encoding": "BASE64",
            },
        },
        "content": base64.b64encode(raw).decode(),
    }
    sns_id = "d2f3b1c6-1f5a-5a7e-9c1e-6a0d2b3c4d5e"
    message = SIGNER[0].sign(
        {
            "Type": "Notification",
            "MessageId": sns_id,
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:izonie-inbound",
            "Subject": "Amazon SES Email Receipt Notification",
            "Message": json.dumps(ses_event),
            "Timestamp": "2026-11-25T09:00:00.100Z",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        }
    )
    if tamper:
        ses_event["content"] = base64.b64encode(raw.replace(b"cracked", b"fine")).decode()
        message["Message"] = json.dumps(ses_event)
    body = json.dumps(message)
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": sns_id}
    return body, headers


def post(provider: str, *, auth: dict | None = None, key: str = SIGNING_KEY):
    client = Client()
    url = f"/mail/inbound/{provider}/"
    if provider == "mailgun":
        return client.post(url, mailgun_form(RAW, key=key), **(auth or {}))
    if provider == "sendgrid":
        return client.post(url, sendgrid_form(RAW), **(auth or {}))
    if provider == "postmark":
        return client.post(url, postmark_json(), content_type="application/json", **(auth or {}))
    body, headers = ses_notification(RAW)
    return client.post(
        url, body, content_type="text/plain; charset=UTF-8", **headers, **(auth or {})
    )


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid", "postmark", "amazon-ses"])
def test_a_valid_delivery_opens_a_ticket_and_a_redelivery_changes_nothing(provider):
    # Mailgun signs its posts; with a shared secret set, anymail wants it from all four.
    auth = basic_auth()
    assert post(provider, auth=auth).status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.subject == "Phone arrived broken"
    assert ticket.requester.email == "chioma@example.com"
    message = ticket.messages.get(direction="in")
    assert message.external_id == "wh1@example.com"
    assert "The screen is" in message.body_text
    record = InboundEmail.objects.get()
    assert record.source == f"webhook:{provider}"
    # The provider retries (a timeout on its side): stored once.
    assert post(provider, auth=auth).status_code == 200
    assert Message.objects.filter(direction="in").count() == 1
    assert InboundEmail.objects.latest("pk").status == InboundStatus.DUPLICATE


def test_postmark_fields_become_a_whole_message():
    post("postmark", auth=basic_auth())
    message = Message.objects.get(direction="in")
    assert "<b>cracked</b>" in message.body_html
    assert message.attachments.get().filename == "receipt.pdf"
    assert message.ticket.parties.filter(role="cc", email="emeka@example.com").exists()


@pytest.mark.parametrize(
    ("provider", "auth", "key"),
    [
        ("mailgun", SECRET, "key-someone-else"),
        ("sendgrid", None, SIGNING_KEY),
        ("sendgrid", "izonie:wrong", SIGNING_KEY),
        ("postmark", None, SIGNING_KEY),
        ("postmark", "izonie:wrong", SIGNING_KEY),
        ("amazon-ses", "izonie:wrong", SIGNING_KEY),
    ],
)
def test_a_bad_signature_or_secret_is_refused_and_nothing_is_stored(provider, auth, key):
    headers = basic_auth(auth) if isinstance(auth, str) else (auth or {})
    response = post(provider, auth=headers, key=key)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert not InboundEmail.objects.exists() and not Ticket.objects.exists()


def test_amazon_sns_without_credentials_is_asked_for_them():
    # SNS sends basic auth only after a 401 challenge.
    response = post("amazon-ses")
    assert response.status_code == 401
    assert not InboundEmail.objects.exists()


def test_without_a_configured_secret_every_webhook_refuses(settings):
    settings.ANYMAIL = {}
    for provider in ("mailgun", "sendgrid", "postmark", "amazon-ses"):
        response = post(provider, auth=basic_auth())
        assert response.status_code == 403, provider
        assert response.json()["code"] == "not_configured"
    assert not InboundEmail.objects.exists()


def test_a_malformed_payload_is_a_clear_400():
    response = Client().post(
        "/mail/inbound/postmark/", "{not json", content_type="application/json", **basic_auth()
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_payload"
    response = Client().post("/mail/inbound/sendgrid/", {"to": "x"}, **basic_auth())
    assert response.status_code == 400 and response.json()["code"] == "invalid_payload"
    assert not InboundEmail.objects.exists()


@pytest.mark.parametrize("version", ["1", "2"])
def test_amazon_sns_signatures_are_verified(sns_signer, version):
    sns_signer.version = version
    body, headers = ses_notification(RAW)
    response = Client().post(
        "/mail/inbound/amazon-ses/", body, content_type="text/plain", **headers, **basic_auth()
    )
    assert response.status_code == 200
    assert Ticket.objects.count() == 1


def test_a_tampered_sns_message_is_refused():
    body, headers = ses_notification(RAW, tamper=True)
    response = Client().post(
        "/mail/inbound/amazon-ses/", body, content_type="text/plain", **headers, **basic_auth()
    )
    assert response.status_code == 403
    assert "signature does not match" in response.json()["detail"]
    assert not InboundEmail.objects.exists()


def test_a_signing_certificate_from_elsewhere_is_not_fetched(sns_signer):
    sns_signer.url = "https://attacker.example/SimpleNotificationService.pem"
    body, headers = ses_notification(RAW)
    response = Client().post(
        "/mail/inbound/amazon-ses/", body, content_type="text/plain", **headers, **basic_auth()
    )
    assert response.status_code == 403
    assert "not an Amazon SNS address" in response.json()["detail"]
    assert not InboundEmail.objects.exists()


def test_mailgun_fully_parsed_fields_with_an_attachment():
    # Mailgun's default forward(): parsed fields, headers as JSON pairs, files attached.
    form = mailgun_form(RAW)
    del form["body-mime"]
    form.update(
        {
            "body-plain": "The screen is cracked.\n\n> earlier text",
            "body-html": "<p>The screen is cracked.</p>",
            "stripped-text": "The screen is cracked.",
            "message-headers": json.dumps(
                [
                    ["From", "Chioma <chioma@example.com>"],
                    ["To", "support@izonie.com"],
                    ["Subject", "Phone arrived broken"],
                    ["Message-Id", "<wh1@example.com>"],
                ]
            ),
            "attachment-count": "1",
            "attachment-1": SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
        }
    )
    response = Client().post("/mail/inbound/mailgun/", form, **basic_auth())
    assert response.status_code == 200
    message = Message.objects.get(direction="in")
    assert message.external_id == "wh1@example.com"
    assert message.attachments.get().filename == "photo.png"


def test_sendgrid_default_parsed_fields():
    # SendGrid Inbound Parse without "raw": a header block, text and html fields.
    headers = (
        "From: Chioma <chioma@example.com>\nTo: support@izonie.com\n"
        "Subject: Phone arrived broken\nMessage-ID: <wh1@example.com>\n"
    )
    form = {
        "headers": headers,
        "from": "Chioma <chioma@example.com>",
        "to": "support@izonie.com",
        "subject": "Phone arrived broken",
        "text": "The screen is cracked.",
        "html": "<p>The screen is cracked.</p>",
        "envelope": json.dumps({"to": ["support@izonie.com"], "from": "chioma@example.com"}),
        "charsets": json.dumps({"headers": "UTF-8", "text": "UTF-8", "html": "UTF-8"}),
        "attachments": "0",
    }
    response = Client().post("/mail/inbound/sendgrid/", form, **basic_auth())
    assert response.status_code == 200
    message = Message.objects.get(direction="in")
    assert message.external_id == "wh1@example.com"
    assert message.body_text == "The screen is cracked."


# --- Each provider's own authentication verdict (mail/authentication.py)

SIGNED = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=from; bh=x; b=y\r\n" + RAW


def post_with_verdict(provider: str, outcome: str):
    """Post RAW with the provider's verdict fields saying ``outcome`` (pass or fail), in
    the place and shape that provider uses."""
    client = Client()
    url = f"/mail/inbound/{provider}/"
    passed = outcome == "pass"
    if provider == "mailgun":
        added = (
            b"X-Mailgun-Sflag: No\r\nX-Mailgun-Sscore: 0.1\r\n"
            + (b"X-Mailgun-Dkim-Check-Result: Pass\r\n" if passed else b"")
            + (b"X-Mailgun-Spf: Pass\r\n" if passed else b"X-Mailgun-Spf: Fail\r\n")
        )
        form = mailgun_form(added + SIGNED)
        return client.post(url, form, **basic_auth())
    if provider == "sendgrid":
        form = sendgrid_form(SIGNED)
        form["dkim"] = "{@example.com : pass}" if passed else "{@evil.test : pass}"
        form["SPF"] = "pass" if passed else "softfail"
        return client.post(url, form, **basic_auth())
    if provider == "postmark":
        payload = json.loads(postmark_json())
        payload["Headers"][:1] = [
            {"Name": "X-Spam-Status", "Value": "No" if passed else "Yes"},
            {"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"},
            {"Name": "Received-SPF", "Value": "Pass (sender SPF authorized) identity=mailfrom"},
        ]
        return client.post(
            url, json.dumps(payload), content_type="application/json", **basic_auth()
        )
    body, headers = ses_notification(RAW)
    message = json.loads(body)
    event = json.loads(message["Message"])
    event["receipt"]["dmarcVerdict"] = {"status": "PASS" if passed else "FAIL"}
    message = SIGNER[0].sign(
        {k: v for k, v in message.items() if k != "Signature"} | {"Message": json.dumps(event)}
    )
    return client.post(
        url, json.dumps(message), content_type="text/plain", **headers, **basic_auth()
    )


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid", "postmark", "amazon-ses"])
@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_each_providers_verdict_is_read(provider, outcome):
    assert post_with_verdict(provider, outcome).status_code == 200
    record = InboundEmail.objects.get()
    assert record.authentication["verdict"] == outcome, record.authentication
    assert record.sender_verified is (outcome == "pass")


def test_a_forged_mailgun_verdict_below_mailguns_own_is_ignored():
    # Mailgun prepends its headers: the sender's own "Pass" further down does not count.
    raw = b"X-Mailgun-Spf: Fail\r\nX-Mailgun-Sflag: No\r\nX-Mailgun-Spf: Pass\r\n" + RAW
    response = Client().post("/mail/inbound/mailgun/", mailgun_form(raw), **basic_auth())
    assert response.status_code == 200
    assert InboundEmail.objects.get().authentication["verdict"] == "fail"


def test_a_quarantined_webhook_mail_is_retried_with_the_providers_verdict(monkeypatch):
    from mail import intake

    def broken(*args, **kwargs):
        raise RuntimeError("triage is down")

    with monkeypatch.context() as patched:
        patched.setattr(intake, "first_messages_open", broken)
        post_with_verdict("amazon-ses", "fail")
    record = InboundEmail.objects.get()
    assert record.status == InboundStatus.QUARANTINED
    retried = intake.inbound_retry(record=record)
    assert retried.status == InboundStatus.PROCESSED
    assert retried.authentication["verdict"] == "fail" and retried.sender_verified is False
