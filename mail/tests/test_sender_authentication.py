"""Who really sent a mail: the receiving side's verdict (Authentication-Results of a
trusted authserv-id, or a provider's own fields) decides whether a mail may speak in an
existing ticket."""

import time

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory
from mail.authentication import (
    Evidence,
    MethodResult,
    aligned,
    authentication_results_headers,
    evidence_from_headers,
    header_values,
    parse_authentication_results,
    sender_check,
)
from mail.intake import ingest_raw
from mail.models import EmailTicketLink, InboundEmail, InboundStatus
from mail.tests.test_intake import mail
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

OURS = "mx.izonie.com"
PASS = (
    f"{OURS}; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com;"
    " dmarc=pass (p=reject) header.from=example.com"
)
FAIL = (
    f"{OURS}; dkim=none; spf=fail smtp.mailfrom=evil.test;"
    " dmarc=fail (p=reject) header.from=example.com"
)


@pytest.fixture(autouse=True)
def trusted(settings):
    settings.IZONIE_MAIL_TRUSTED_AUTHSERV_IDS = [OURS]
    settings.IZONIE_MAIL_REQUIRE_SENDER_VERDICT = False


def received(raw: bytes, *results: str) -> bytes:
    """The mail as our MTA hands it over: its Authentication-Results prepended."""
    return b"".join(f"Authentication-Results: {r}\r\n".encode() for r in results) + raw


def first_ticket() -> Ticket:
    return ingest_raw(raw=received(mail(), PASS)).ticket


def agent_page(ticket: Ticket) -> str:
    client = Client()
    client.force_login(AgentFactory())
    response = client.get(f"/console/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# --- The attacks


def test_a_forged_from_with_the_ticket_token_that_fails_dmarc_is_not_joined_and_is_flagged():
    ticket = first_ticket()
    forged = received(
        mail(
            message_id="<forged@evil.test>",
            subject=f"Re: [{ticket.reference}] send the refund to my new account",
            body="Please pay into account 0123456789 instead.",
        ),
        FAIL,
    )
    record = ingest_raw(raw=forged)
    assert record.status == InboundStatus.PROCESSED
    assert record.ticket != ticket  # not the customer's conversation
    assert ticket.messages.filter(direction="in").count() == 1
    assert record.sender_verified is False
    assert record.authentication["verdict"] == "fail"
    assert "dmarc=fail by mx.izonie.com" in record.authentication["summary"]
    # The agent sees the new ticket as unverified; the real one carries no badge.
    page = agent_page(record.ticket)
    assert "Email not verified" in page and "did not prove it comes from" in page
    assert "Email not verified" not in agent_page(ticket)


def test_the_same_forgery_by_plus_address_is_not_joined_either():
    ticket = first_ticket()
    record = ingest_raw(
        raw=received(mail(message_id="<f2@evil.test>", to=f"support+{ticket.pk}@izonie.com"), FAIL)
    )
    assert record.ticket != ticket and record.sender_verified is False


def test_authentication_results_of_an_untrusted_authserv_id_are_ignored(settings):
    settings.IZONIE_MAIL_REQUIRE_SENDER_VERDICT = True
    ticket = first_ticket()
    # The forger writes a "pass" of their own, under another name and under ours but
    # below the header our MTA prepended.
    forged = received(
        mail(message_id="<f3@evil.test>", subject=f"Re: [{ticket.reference}]"),
        "mx.evil.test; dmarc=pass header.from=example.com",
    )
    record = ingest_raw(raw=forged)
    assert record.ticket != ticket
    assert record.sender_verified is False
    assert record.authentication["verdict"] == "none"
    below_ours = received(
        mail(message_id="<f4@evil.test>", subject=f"Re: [{ticket.reference}]"),
        FAIL,
        f"{OURS}; dmarc=pass header.from=example.com",
    )
    record = ingest_raw(raw=below_ours)
    assert record.ticket != ticket and record.authentication["verdict"] == "fail"
    assert ticket.messages.filter(direction="in").count() == 1


def test_a_pass_verdict_joins_by_token_and_plus_address_as_before():
    ticket = first_ticket()
    by_token = ingest_raw(
        raw=received(mail(message_id="<m2@example.com>", subject=f"Re: [{ticket.reference}]"), PASS)
    )
    by_plus = ingest_raw(
        raw=received(
            mail(message_id="<m3@example.com>", to=f"support+{ticket.pk}@izonie.com"), PASS
        )
    )
    assert by_token.ticket == ticket and by_plus.ticket == ticket
    assert by_token.sender_verified is True
    assert "Email not verified" not in agent_page(ticket)


def test_without_any_verdict_the_setting_decides(settings):
    ticket = first_ticket()
    # Not required (the default): a mail without a trusted header is taken as before.
    legacy = ingest_raw(raw=mail(message_id="<m2@example.com>", subject=f"[{ticket.reference}]"))
    assert legacy.ticket == ticket and legacy.sender_verified is True
    settings.IZONIE_MAIL_REQUIRE_SENDER_VERDICT = True
    required = ingest_raw(raw=mail(message_id="<m3@example.com>", subject=f"[{ticket.reference}]"))
    assert required.ticket != ticket and required.sender_verified is False
    assert "no Authentication-Results" in required.authentication["summary"]


def test_a_reply_by_references_from_a_stranger_opens_a_linked_ticket():
    ticket = first_ticket()
    # Someone who saw the thread's Message-IDs (a forwarded copy, a Cc) writes as if
    # continuing it: passes DMARC for their own domain, but is no party of the ticket.
    stranger = ingest_raw(
        raw=received(
            mail(
                sender="Mallory <mallory@other.test>",
                message_id="<s1@other.test>",
                subject="Re: Cannot sign in",
                References="<m1@example.com>",
                In_Reply_To="<m1@example.com>",
            ),
            f"{OURS}; dmarc=pass header.from=other.test",
        )
    )
    assert stranger.status == InboundStatus.PROCESSED
    assert stranger.ticket != ticket
    assert stranger.ticket.requester.email == "mallory@other.test"
    assert ticket.messages.filter(direction="in").count() == 1
    link = EmailTicketLink.objects.get()
    assert (link.ticket, link.linked_to) == (stranger.ticket, ticket)
    # The agent sees the link on both tickets.
    assert stranger.ticket.reference in agent_page(ticket)
    assert ticket.reference in agent_page(stranger.ticket)
    # The customer's own reply and a copied party's still join.
    own = ingest_raw(raw=mail(message_id="<m2@example.com>", In_Reply_To="<m1@example.com>"))
    assert own.ticket == ticket


def test_a_copied_party_may_reply_by_references():
    ticket = ingest_raw(raw=mail(Cc="Emeka <emeka@example.com>")).ticket
    reply = ingest_raw(
        raw=mail(
            sender="Emeka <emeka@example.com>",
            message_id="<e1@example.com>",
            In_Reply_To="<m1@example.com>",
        )
    )
    assert reply.ticket == ticket and not EmailTicketLink.objects.exists()


# --- Provider webhooks


@pytest.mark.parametrize(
    ("evidence", "verdict"),
    [
        (Evidence("amazon ses", (MethodResult("dmarc", "pass"),)), "pass"),
        (Evidence("amazon ses", (MethodResult("dmarc", "fail"),)), "fail"),
        (Evidence("postmark", (MethodResult("spf", "pass"),), spam=True), "fail"),
    ],
)
def test_a_provider_verdict_given_to_the_intake_replaces_the_headers(evidence, verdict):
    ticket = first_ticket()
    record = ingest_raw(
        raw=received(mail(message_id="<p1@example.com>", subject=f"[{ticket.reference}]"), PASS),
        source="webhook:test",
        evidence=evidence,
    )
    assert record.authentication["verdict"] == verdict
    assert (record.ticket == ticket) is (verdict == "pass")


# --- The header parser


def test_rfc_8601_examples_are_read():
    authserv_id, results = parse_authentication_results(
        'example.com 1; dkim/1 = pass (good signature) header.d="example.org" '
        "header.i=@mail.example.org; spf=pass smtp.mailfrom=sender@example.net; "
        'auth=pass (cram-md5) smtp.auth=sender@example.net; dmarc=fail reason="no alignment" '
        "header.from=example.org"
    )
    assert authserv_id == "example.com"
    assert [(r.method, r.result) for r in results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("auth", "pass"),
        ("dmarc", "fail"),
    ]
    assert results[0].prop("header.d") == "example.org"
    assert results[3].prop("reason") == "no alignment"
    assert parse_authentication_results("example.org; none") == ("example.org", [])
    assert parse_authentication_results("") == ("", [])


def test_folded_headers_are_unfolded_and_the_body_is_not_read():
    raw = (
        b"Authentication-Results: mx.izonie.com;\r\n\tdmarc=pass\r\n"
        b"From: a@example.com\r\n\r\nAuthentication-Results: mx.izonie.com; dmarc=fail\r\n"
    )
    assert [v.split() for v in authentication_results_headers(raw)] == [
        ["mx.izonie.com;", "dmarc=pass"]
    ]
    evidence = evidence_from_headers(raw, trusted=["mx.izonie.com"])
    assert evidence is not None and evidence.results == (MethodResult("dmarc", "pass"),)


@pytest.mark.parametrize(
    ("results", "from_address", "expected"),
    [
        ("dkim=pass header.d=mail.example.com", "a@example.com", "pass"),
        ("dkim=pass header.d=example.com", "a@shop.example.com", "pass"),
        ("dkim=pass header.d=evil.test", "a@example.com", "fail"),
        ("spf=pass smtp.mailfrom=bounce@evil.test", "a@example.com", "fail"),
        ("spf=pass smtp.mailfrom=bounce@example.com", "a@example.com", "pass"),
        ("dmarc=none; dkim=pass header.d=example.com", "a@example.com", "pass"),
        ("dmarc=quarantine; dkim=pass header.d=example.com", "a@example.com", "fail"),
        ("spf=softfail smtp.mailfrom=example.com", "a@example.com", "fail"),
    ],
)
def test_alignment_without_a_dmarc_result(results, from_address, expected):
    evidence = Evidence(OURS, tuple(parse_authentication_results(f"{OURS}; {results}")[1]))
    assert sender_check(evidence, from_address=from_address).verdict == expected


def test_siblings_under_a_public_suffix_do_not_align():
    assert not aligned("evil.co.uk", "victim.co.uk")
    assert aligned("co.uk", "victim.co.uk")  # nobody gets an SPF pass for co.uk itself


@pytest.mark.parametrize(
    "hostile",
    [
        "(" * 200_000,
        '"' * 200_000,
        "\\" * 200_000,
        "a=" * 100_000,
        "; " * 100_000,
        "x " * 100_000,
    ],
)
def test_hostile_headers_cost_linear_time(hostile):
    raw = f"Authentication-Results: {OURS}; {hostile}\r\n".encode() * 40 + mail()
    started = time.process_time()
    evidence_from_headers(raw, trusted=[OURS])
    assert time.process_time() - started < 0.5
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.PROCESSED


def test_an_unparseable_mail_records_no_verdict():
    record = ingest_raw(raw=b"not a mail at all")
    assert record.status == InboundStatus.QUARANTINED
    assert record.sender_verified is None
    assert not Message.objects.exists() and InboundEmail.objects.count() == 1


def test_header_values_are_found_whatever_the_names_case_and_only_in_the_header():
    raw = (
        b"From: a@example.com\r\nLIST-Unsubscribe: <mailto:x@example.com>\r\n"
        b"list-unsubscribe: second,\r\n folded\r\n\r\n"
        b"Return-Path: <> in the body is not a header\r\n"
    )
    assert header_values(raw, "list-unsubscribe") == [" <mailto:x@example.com>", " second,  folded"]
    assert header_values(raw, "return-path") == []
    assert header_values(raw, "authentication-results") == []
