"""A customer's data: exported whole, erased on request (not while a dispute is open),
trimmed by the policy's retention periods, and every staff access audited."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AdminFactory, AgentFactory
from dataprotection.models import AuditAction, AuditEntry
from dataprotection.services import (
    ErasureBlocked,
    customer_erase,
    customer_export,
    retention_enforce,
)
from disputes import services as dispute_services
from disputes.models import DisputeStatus
from disputes.tests.conftest import make_case
from mail.models import InboundEmail
from tickets.choices import Direction, TicketStatus
from tickets.models import Attachment, Message

PHOTO = b"\xff\xd8\xff a photo of the cracked screen"

pytestmark = pytest.mark.django_db


def _photo_on(message: Message) -> Attachment:
    return Attachment.objects.create(
        message=message,
        file=ContentFile(PHOTO, name="screen.jpg"),
        filename="screen.jpg",
        content_type="image/jpeg",
        size=len(PHOTO),
    )


def test_the_export_holds_the_customers_tickets_messages_and_files_but_not_internal_notes():
    case = make_case()
    first = case.ticket.messages.get(direction=Direction.INBOUND)
    photo = _photo_on(first)
    Message.objects.create(
        ticket=case.ticket,
        direction=Direction.OUTBOUND,
        kind="note",
        author=case.agent,
        body_text="Internal: this buyer returned two phones last month.",
        channel=case.ticket.channel,
    )
    admin = AdminFactory()

    archive = zipfile.ZipFile(io.BytesIO(customer_export(customer=case.buyer, actor=admin)))

    data = json.loads(archive.read("customer.json"))
    assert data["account"]["email"] == "chioma.okafor@example.com"
    [ticket] = data["tickets"]
    assert ticket["reference"] == case.ticket.reference
    texts = [message["text"] for message in ticket["messages"]]
    assert first.body_text in texts
    assert not any("Internal:" in text for text in texts)
    names = archive.namelist()
    photo_name = f"attachments/{case.ticket.reference}/{photo.pk}-screen.jpg"
    assert photo_name in names
    assert archive.read(photo_name) == PHOTO
    entry = AuditEntry.objects.get(action=AuditAction.EXPORTED)
    assert (entry.actor, entry.subject) == (admin, case.buyer)


def test_erasure_hides_the_customer_everywhere_and_keeps_the_history_for_agents():
    case = make_case()
    first = case.ticket.messages.get(direction=Direction.INBOUND)
    photo = _photo_on(first)
    InboundEmail.objects.create(
        raw=b"From: chioma.okafor@example.com\r\n\r\nHello",
        sender="chioma.okafor@example.com",
        subject="Cracked screen",
        ticket=case.ticket,
    )
    admin = AdminFactory()

    report = customer_erase(customer=case.buyer, actor=admin, reason="request by email")

    case.buyer.refresh_from_db()
    assert case.buyer.email == "" and not case.buyer.is_active
    assert "Chioma" not in case.buyer.get_full_name() + case.buyer.display_name
    assert not case.buyer.has_usable_password()
    first.refresh_from_db()
    # The message is still there for the agents, without the contacts it held.
    assert "cracked screen" in first.body_text
    assert "chioma.okafor@example.com" not in first.body_text
    assert "0803 123 4567" not in first.body_text
    assert first.author_name == "Erased customer"
    party = case.ticket.parties.get(role="requester")
    assert (party.name, party.email) == ("Erased customer", "")
    photo.refresh_from_db()
    assert not photo.kept and not photo.file
    assert InboundEmail.objects.get().raw in (b"", memoryview(b""))
    assert report.attachments_deleted == 1
    entry = AuditEntry.objects.get(action=AuditAction.ERASED)
    assert entry.detail["reason"] == "request by email" and entry.actor == admin


def test_an_open_dispute_blocks_erasure_and_says_so():
    case = make_case()
    dispute = dispute_services.dispute_open(ticket=case.ticket, actor=case.agent)
    assert dispute.status == DisputeStatus.OPEN

    with pytest.raises(ErasureBlocked) as blocked:
        customer_erase(customer=case.buyer, actor=None, reason="request")

    [reason] = blocked.value.reasons
    assert case.ticket.reference in reason and "GadgetHub" in reason and "still open" in reason
    case.buyer.refresh_from_db()
    assert case.buyer.email == "chioma.okafor@example.com"  # nothing was changed


def test_the_erase_command_explains_what_blocks_it():
    case = make_case()
    dispute_services.dispute_open(ticket=case.ticket, actor=case.agent)

    with pytest.raises(Exception, match=r"Dispute on .* is still open"):
        call_command("customer_data", "erase", case.buyer.email, reason="request")


def test_retention_deletes_old_files_and_raw_mail_and_keeps_recent_ones():
    case = make_case()
    first = case.ticket.messages.get(direction=Direction.INBOUND)
    old_photo = _photo_on(first)
    long_ago = timezone.now() - dt.timedelta(days=400)
    case.ticket.status = TicketStatus.CLOSED
    case.ticket.closed_at = long_ago
    case.ticket.save(update_fields=["status", "closed_at"])
    old_mail = InboundEmail.objects.create(raw=b"old raw mail", sender="a@example.com")
    InboundEmail.objects.filter(pk=old_mail.pk).update(received_at=long_ago)
    new_mail = InboundEmail.objects.create(raw=b"new raw mail", sender="b@example.com")

    report = retention_enforce()

    old_photo.refresh_from_db()
    assert not old_photo.kept and "retention" in old_photo.not_kept_reason
    assert bytes(InboundEmail.objects.get(pk=old_mail.pk).raw) == b""
    assert bytes(InboundEmail.objects.get(pk=new_mail.pk).raw) == b"new raw mail"
    assert (report.attachments_deleted, report.raw_mails_emptied) == (1, 1)
    # A second run finds nothing more to do.
    again = retention_enforce()
    assert (again.attachments_deleted, again.raw_mails_emptied) == (0, 0)


def test_an_agent_opening_a_ticket_is_audited_once_per_window(client):
    case = make_case()
    agent = AgentFactory(teams=["customer_care"])
    client.force_login(agent)
    url = reverse("console:ticket", args=[case.ticket.pk])

    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200

    [entry] = AuditEntry.objects.filter(action=AuditAction.VIEWED)
    assert (entry.actor, entry.subject, entry.ticket_id) == (agent, case.buyer, case.ticket.pk)


def test_the_audit_log_is_read_only_for_admins(client):
    AuditEntry.objects.create(action=AuditAction.EXPORTED)
    client.force_login(AdminFactory(is_superuser=True, is_staff=True))
    listing = client.get(reverse("admin:dataprotection_auditentry_changelist"))
    assert listing.status_code == 200
    assert client.get(reverse("admin:dataprotection_auditentry_add")).status_code == 403
