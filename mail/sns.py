"""Amazon SNS message signatures, checked before an SES inbound notification is used.

Anymail checks the basic-auth secret and that the SNS headers match the body, but not
the signature itself. SNS signs each message with a certificate served from an
Amazon host (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA); we fetch that
certificate, only from a URL the setting allows, cache it, and verify.
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import base64
import functools
import re
import urllib.request
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


class SnsSignatureError(ValueError):
    pass


def string_to_sign(message: dict[str, Any]) -> bytes:
    keys = _NOTIFICATION_KEYS if message.get("Type") == "Notification" else _CONFIRMATION_KEYS
    lines = []
    for key in keys:
        if key in message and message[key] is not None:
            lines += [key, str(message[key])]
    return ("\n".join(lines) + "\n").encode()


@functools.lru_cache(maxsize=16)
def _certificate(url: str) -> x509.Certificate:
    if not re.match(settings.IZONIE_SNS_CERT_URL_PATTERN, url):
        raise SnsSignatureError(f"SigningCertURL {url!r} is not an Amazon SNS address")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (checked above)
        return x509.load_pem_x509_certificate(response.read(1_000_000))


def verify_sns_message(message: dict[str, Any]) -> None:
    """Raise SnsSignatureError unless the message carries a valid SNS signature."""
    algorithm = _HASHES.get(str(message.get("SignatureVersion", "")))
    if algorithm is None:
        raise SnsSignatureError("unknown SNS SignatureVersion")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except ValueError as exc:
        raise SnsSignatureError("the SNS signature is not base64") from exc
    try:
        certificate = _certificate(str(message.get("SigningCertURL", "")))
    except OSError as exc:
        raise SnsSignatureError(f"could not fetch the SNS signing certificate: {exc}") from exc
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsSignatureError("the SNS signing certificate is not an RSA certificate")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise SnsSignatureError("the SNS signature does not match the message") from exc
