from email.message import EmailMessage

import pytest
from django.core.management import call_command

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import png_bytes
from mail.intake import ingest_raw
from mail.models import InboundEmail, InboundStatus
from policy.loader import get_policy
from tickets import services
from tickets.choices import Channel, Direction, TicketStatus
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db


def mail(
    *,
    sender="Chioma <chioma@example.com>",
    subject="Cannot sign in",
    body="The app says my password is wrong.",
    message_id="<m1@example.com>",
    html=None,
    attachments=(),
    **headers,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = headers.pop("to", "support@izonie.com")
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for name, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def test_a_new_email_opens_a_ticket_for_a_new_customer():
    record = ingest_raw(raw=mail())
    assert record.status == InboundStatus.PROCESSED
    ticket = record.ticket
    # Categorised from the text by triage.
    assert (ticket.channel, ticket.subject, ticket.category) == (
        "email",
        "Cannot sign in",
        "technical_support",
    )
    assert ticket.requester.email == "chioma@example.com"
    assert ticket.messages.get(direction="in").external_id == "m1@example.com"
    assert ticket.first_reply_due_at is not None  # the 24-hour email promise


def test_the_same_email_twice_is_stored_once():
    first = ingest_raw(raw=mail())
    second = ingest_raw(raw=mail())
    assert second.status == InboundStatus.DUPLICATE
    assert Message.objects.filter(direction="in").count() == 1
    assert second.ticket == first.ticket
    # Without a Message-ID, identical bytes are still recognised.
    no_id = mail(message_id=None, subject="No id")
    assert ingest_raw(raw=no_id).status == InboundStatus.PROCESSED
    assert ingest_raw(raw=no_id).status == InboundStatus.DUPLICATE


def test_replies_thread_by_in_reply_to_references_token_and_plus_address():
    ticket = ingest_raw(raw=mail()).ticket
    by_header = ingest_raw(
        raw=mail(message_id="<m2@example.com>", subject="Re: late", In_Reply_To="<m1@example.com>")
    )
    by_refs = ingest_raw(
        raw=mail(
            message_id="<m3@example.com>", subject="again", References="<x@y> <m1@example.com>"
        )
    )
    by_token = ingest_raw(
        raw=mail(message_id="<m4@example.com>", subject=f"Re: whatever [{ticket.reference}]")
    )
    by_plus = ingest_raw(
        raw=mail(
            message_id="<m5@example.com>", subject="hello", to=f"support+{ticket.pk}@izonie.com"
        )
    )
    assert {r.ticket_id for r in (by_header, by_refs, by_token, by_plus)} == {ticket.pk}
    assert Ticket.objects.count() == 1
    assert ticket.messages.filter(direction="in").count() == 5


def test_a_token_for_someone_elses_ticket_opens_a_new_ticket():
    other = services.ticket_open(
        requester=BuyerFactory(),
        channel=Channel.WEB_FORM,
        category="technical_support",
        body="mine",
    )
    record = ingest_raw(raw=mail(subject=f"Re: [{other.reference}] let me in"))
    assert record.ticket != other
    assert other.messages.filter(direction=Direction.INBOUND).count() == 1


def test_reply_to_a_closed_ticket_opens_a_new_one():
    ticket = ingest_raw(raw=mail()).ticket
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.CLOSED)
    record = ingest_raw(raw=mail(message_id="<m9@example.com>", In_Reply_To="<m1@example.com>"))
    assert record.status == InboundStatus.PROCESSED and record.ticket != ticket


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X_Autoreply": "yes"}],
)
def test_auto_replies_and_bulk_mail_are_kept_but_not_ticketed(headers):
    record = ingest_raw(raw=mail(**headers))
    assert record.status == InboundStatus.IGNORED
    assert "machine-sent" in record.reason
    assert not Ticket.objects.exists()


def test_our_own_address_and_a_forged_agent_are_not_customers():
    assert ingest_raw(raw=mail(sender="support@izonie.com")).status == InboundStatus.IGNORED
    agent = AgentFactory(email="ada@izonie.com")
    record = ingest_raw(raw=mail(sender=f"Ada <{agent.email}>", message_id="<f@x>"))
    assert record.status == InboundStatus.QUARANTINED
    assert "forged From" in record.reason
    assert not Ticket.objects.exists()


def test_html_only_mail_is_sanitised_and_gets_text():
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = "html"
    message["Message-ID"] = "<h@x>"
    message.set_content(
        '<p onclick="evil()">Refund <b>please</b></p><script>alert(1)</script>', subtype="html"
    )
    record = ingest_raw(raw=message.as_bytes())
    stored = record.message
    assert "script" not in stored.body_html and "onclick" not in stored.body_html
    assert "Refund" in stored.body_text and "please" in stored.body_text


def test_attachments_kept_or_recorded_with_the_reason():
    limit = get_policy().attachments.max_bytes
    record = ingest_raw(
        raw=mail(
            attachments=[
                ("photo.png", png_bytes(), "image", "png"),
                ("huge.png", png_bytes() + b"\0" * (limit + 1), "image", "png"),
                ("virus.exe", b"MZ\x90\x00" * 50, "application", "octet-stream"),
            ]
        )
    )
    rows = {a.filename: a for a in Attachment.objects.filter(message=record.message)}
    assert rows["photo.png"].kept
    assert not rows["huge.png"].kept and "limit" in rows["huge.png"].not_kept_reason
    assert not rows["virus.exe"].kept and "not a photo or PDF" in rows["virus.exe"].not_kept_reason


def test_a_message_with_thousands_of_parts_is_stored_with_the_rest_noted():
    record = ingest_raw(
        raw=mail(
            attachments=[(f"p{i}.txt", b"x", "application", "octet-stream") for i in range(300)]
        )
    )
    assert record.status == InboundStatus.PROCESSED
    noted = Attachment.objects.get(message=record.message, filename="(further parts)")
    assert "were not read" in noted.not_kept_reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x01 not mail at all", "From"),
        (b"Subject: no sender\r\n\r\nbody", "From"),
    ],
)
def test_unusable_mail_is_quarantined_not_lost(raw, reason):
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.QUARANTINED and reason in record.reason
    assert bytes(InboundEmail.objects.get(pk=record.pk).raw) == raw


def test_header_injection_and_bad_charsets_are_contained():
    raw = (
        b"From: x@example.com\r\nSubject: =?utf-8?q?Hello=0D=0ABcc:_victim@example.com?=\r\n"
        b"Message-ID: <inj@x>\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        b"caf\xe9 ok\r\n"
    )
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.PROCESSED
    assert "\n" not in record.ticket.subject and "\r" not in record.ticket.subject
    assert "caf" in record.message.body_text


def test_ingest_mail_command_reads_files(tmp_path, capsys):
    path = tmp_path / "one.eml"
    path.write_bytes(mail())
    call_command("ingest_mail", str(path), str(path))
    out = capsys.readouterr().out
    assert "processed" in out and "duplicate" in out
    assert Ticket.objects.count() == 1


def test_copied_addresses_become_parties_once_and_grant_no_access():
    from django.test import Client

    from tickets.choices import PartyRole
    from tickets.models import Party

    ticket = ingest_raw(
        raw=mail(
            Cc="Emeka <emeka@example.com>, support@izonie.com, chioma@example.com",
            to="support@izonie.com, Bisi <bisi@example.com>",
        )
    ).ticket
    ingest_raw(
        raw=mail(
            message_id="<m2@example.com>",
            In_Reply_To="<m1@example.com>",
            Cc="EMEKA@example.com, tunde@example.com",
            to=f"support+{ticket.pk}@izonie.com",
        )
    )
    copied = Party.objects.filter(ticket=ticket, role=PartyRole.CC).order_by("id")
    assert [(p.name, p.email) for p in copied] == [
        ("Emeka", "emeka@example.com"),
        ("Bisi", "bisi@example.com"),
        ("", "tunde@example.com"),
    ]
    assert all(p.user_id is None for p in copied)
    client = Client()
    client.force_login(AgentFactory())
    page = client.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "Copied" in page and "emeka@example.com" in page and "tunde@example.com" in page


# policies/izonie.yaml: channels.email.acknowledgement.max_per_sender
IZONIE_ACK_LIMIT = 3


def test_a_reply_that_arrives_before_its_original_shares_its_ticket():
    reply = ingest_raw(
        raw=mail(
            message_id="<r1@example.com>",
            subject="Re: My order is late",
            In_Reply_To="<m1@example.com>",
            References="<m1@example.com>",
        )
    )
    original = ingest_raw(raw=mail())  # <m1@example.com>, delayed on the way
    assert original.status == InboundStatus.PROCESSED
    assert original.ticket == reply.ticket
    assert Ticket.objects.count() == 1
    assert reply.ticket.messages.filter(direction="in").count() == 2


def test_a_failure_while_processing_leaves_nothing_half_done_and_keeps_the_raw(monkeypatch):
    from accounts.models import User
    from mail import intake

    def crash(**kwargs):
        raise RuntimeError("the mail server vanished mid-way")

    # Fails after the customer, ticket and message were written in the transaction.
    monkeypatch.setattr(intake, "acknowledgement_text", crash)
    raw = mail(sender="new@example.com")
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.QUARANTINED
    assert "RuntimeError: the mail server vanished mid-way" in record.reason
    assert bytes(InboundEmail.objects.get(pk=record.pk).raw) == raw
    assert not User.objects.filter(email="new@example.com").exists()
    assert not Ticket.objects.exists() and not Message.objects.exists()
    # Retried once the fault is gone, it goes through, once.
    monkeypatch.undo()
    from mail.intake import inbound_retry

    retried = inbound_retry(record=InboundEmail.objects.get(pk=record.pk))
    assert retried.status == InboundStatus.PROCESSED and Ticket.objects.count() == 1


def test_a_very_long_body_is_shortened_not_refused():
    from tickets.services import MAX_BODY_CHARS

    record = ingest_raw(raw=mail(body="x" * (MAX_BODY_CHARS + 10)))
    assert record.status == InboundStatus.PROCESSED
    body = record.message.body_text
    assert len(body) <= MAX_BODY_CHARS and body.endswith("kept as received.]")


def test_an_over_long_message_id_is_stored_and_still_threads():
    long_id = "x" * 600 + "@example.com"
    first = ingest_raw(raw=mail(message_id=f"<{long_id}>"))
    assert first.status == InboundStatus.PROCESSED
    reply = ingest_raw(raw=mail(message_id="<r@example.com>", In_Reply_To=f"<{long_id}>"))
    assert reply.ticket == first.ticket
    assert ingest_raw(raw=mail(message_id=f"<{long_id}>")).status == InboundStatus.DUPLICATE


def test_ingest_mail_asks_postfix_to_retry_when_the_database_is_down(tmp_path, monkeypatch, capsys):
    from django.db import OperationalError

    from mail.management.commands import ingest_mail

    def database_down(raws, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(ingest_mail, "ingest_many", database_down)
    path = tmp_path / "one.eml"
    path.write_bytes(mail())
    with pytest.raises(SystemExit) as exited:
        call_command("ingest_mail", str(path))
    assert exited.value.code == 75  # EX_TEMPFAIL: Postfix keeps the mail and retries
    assert "try again later" in capsys.readouterr().err
    assert not InboundEmail.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@example.com\r\nSubject: App\x00 crash\r\nMessage-ID: <n\x00ul@x>\r\n\r\nhi",
        b"From: a@example.com\r\nSubject: =?utf-8?q?App=00_crash?=\r\n\r\nhi",
        b"From: a@example.com\r\nSubject: App crash\r\nContent-Type: text/html\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>h=00i</p>",
        b"From: a@example.com\r\nSubject: App crash\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: text/plain\r\n\r\nhi\r\n--XX\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''a%00b.pdf\r\n\r\n"
        b"%PDF-1.4\r\n--XX--\r\n",
    ],
    ids=["raw-header", "encoded-word", "html-body", "rfc2231-filename"],
)
def test_nul_characters_are_dropped_not_a_quarantine(raw):
    # PostgreSQL text cannot hold NUL: each of these was quarantined there with a
    # DataError, or raised out of ingest_raw (found by test_intake_fuzz on PostgreSQL).
    record = ingest_raw(raw=raw)
    assert record.status == InboundStatus.PROCESSED, record.reason
    assert record.ticket.subject == "App crash"
    assert "\x00" not in record.message.body_html
    assert "\x00" not in record.header_id
    assert all("\x00" not in a.filename for a in Attachment.objects.filter(message=record.message))
    assert bytes(InboundEmail.objects.get(pk=record.pk).raw) == raw
