# ruff: noqa: RUF001  (Chinese and Russian text: its punctuation and letters are meant)
"""Charsets and senders as real mail has them (issue 17, item 5): each case below came
from the real-world corpus (mail/tests/corpus), reduced to the bytes that matter."""

import pytest

from mail.charsets import charset_name, decode_bytes
from mail.intake import ingest_raw
from mail.models import InboundStatus
from mail.parsing import parse_email
from tickets.models import Message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


# "张先生" / "代开各地增值税发票" in gb2312, as mail_parser/mail_test_12.eml sends them;
# 镕 (U+9555) exists only in gb18030, the superset mail clients decode gb2312 with.
GB_NAME = "=?GB2312?B?1cXPyMn6?="
GB_SUBJECT = "=?GB2312?B?tPq/qrj3tdjU9ta1y7C3osax?="
GB_BODY = "朱镕基总理，您好".encode("gb18030")


def test_gb2312_body_and_subject_decode_as_gb18030():
    raw = (
        crlf(
            f"From: {GB_NAME} <baoguan@example.cn>\nTo: support@izonie.com\n"
            f"Subject: {GB_SUBJECT}\nContent-Type: text/plain; charset=gb2312\n"
            "Content-Transfer-Encoding: 8bit\n\n"
        )
        + GB_BODY
    )
    parsed = parse_email(raw)
    assert parsed.sender_name == "张先生"
    assert parsed.subject == "代开各地增值税发票"
    assert parsed.text == "朱镕基总理，您好"
    assert "\ufffd" not in parsed.text


def test_a_wrong_declaration_is_detected():
    # UTF-8 bytes labelled gb2312 (mail_test_12.eml), and latin-1 labelled utf-8.
    assert decode_bytes("你好，我公司".encode(), "gb2312") == "你好，我公司"
    assert decode_bytes("Grüße aus Köln".encode("cp1252"), "utf-8") == "Grüße aus Köln"
    # Detection needs a few sentences, as a real mail has; a single line may be misread.
    russian = (
        "Здравствуйте! Мой заказ номер 1234 до сих пор не доставлен, прошла уже целая "
        "неделя. Продавец не отвечает на сообщения, а трекинг не обновляется с "
        "понедельника. Пожалуйста, помогите разобраться или верните деньги."
    )
    assert decode_bytes(russian.encode("koi8-r"), "x-no-such-charset") == russian


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("GB2312", "gb18030"),
        ('"ks_c_5601-1987"', "cp949"),
        ("iso-8859-8-i", "iso8859-8"),
        (("us-ascii", "", "utf-8"), "utf-8"),  # RFC 2231 charset*=, parsed as a tuple
        ("ansi-x3.4-1968''us-ascii", "cp1252"),  # the same left whole
        ("unicode-1-1-utf-7", "utf-7"),
        ("x-unknown", ""),
        ("a" * 500, ""),
    ],
)
def test_charset_aliases_as_mail_clients_read_them(declared, codec):
    assert charset_name(declared) == codec


@pytest.mark.django_db
def test_utf7_with_nul_and_a_broken_word_is_stored():
    # A UTF-7 part that decodes to a lone surrogate and carries a NUL: PostgreSQL refused
    # both at the insert and the mail was quarantined.
    raw = crlf(
        "From: Ana <ana@example.org>\nTo: support@izonie.com\nSubject: Pedido\n"
        "Message-ID: <utf7@example.org>\nContent-Type: text/plain; charset=UTF-7\n\n"
        "Ol+AOE-, o pedido 1234 n+AOM-o chegou +2D3-.\n"
    ).replace(b"chegou", b"chegou\x00")
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.PROCESSED, record.reason
    body = Message.objects.get(ticket=record.ticket, direction="in").body_text
    assert body.startswith("Olá, o pedido 1234 não chegou")
    assert "\x00" not in body


def test_malformed_charset_parameters_do_not_crash_the_parser():
    # CPython's msg_32.txt: charset*=ansi-x3.4-1968''us-ascii.
    raw = crlf(
        "From: Anne Person <aperson@example.com>\nSubject: Test\n"
        "Content-Type: text/plain; charset*=ansi-x3.4-1968''us-ascii\n\nSome message.\n"
    )
    assert parse_email(raw).text == "Some message."


def test_an_encoded_display_name_with_a_comma_keeps_its_sender():
    # mail_parser's mail_test_18.eml: the comma is inside the encoded word.
    raw = crlf(
        "From: =?iso-8859-1?Q?Last=DFlName=2C_FirstName?= <comma.name@example.com>\n"
        "To: =?utf-8?Q?Support=2C_Izonie?= <support@izonie.com>\nSubject: x\n\nHello\n"
    )
    parsed = parse_email(raw)
    assert (parsed.sender_name, parsed.sender_email) == (
        "LastßlName, FirstName",
        "comma.name@example.com",
    )
    assert parsed.to_named == [("Support, Izonie", "support@izonie.com")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sender", ["<>", '"Mail Delivery System" <>', "MAILER-DAEMON", "Postmaster <>"]
)
def test_a_mail_system_sender_without_an_address_is_machine_mail(sender):
    raw = crlf(
        f"From: {sender}\nTo: support@izonie.com\nSubject: Warning: could not scan\n"
        "Return-Path: <>\n\nYour message was held for scanning.\n"
    )
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.IGNORED
    assert "mail-system sender" in record.reason


def test_only_the_first_plain_alternative_is_the_text():
    """flanker/quoted-printable.eml: a multipart/alternative whose HTML version is labelled
    text/plain. A mail client shows one alternative; the ticket shows the first, once."""
    raw = (
        b"From: Bob <bob@example.com>\r\nTo: help@example.com\r\nSubject: links\r\n"
        b"Message-ID: <alt-1@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello Bob, see a&b.\r\n"
        b"--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        b"<div>Hello Bob, see a&amp;b.</div>\r\n--b--\r\n"
    )
    parsed = parse_email(raw)
    assert parsed.text == "Hello Bob, see a&b."
