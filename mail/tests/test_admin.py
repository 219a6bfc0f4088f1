"""The admin pages for the email channel: lists render, quarantined mail can be retried."""

import pytest
from django.test import Client

from accounts.tests.factories import AdminFactory
from mail.intake import ingest_raw
from mail.models import InboundEmail, InboundStatus
from mail.tests.test_intake import mail

pytestmark = pytest.mark.django_db


def test_admin_lists_mail_state_and_retries_quarantined_mail():
    client = Client()
    client.force_login(AdminFactory())
    quarantined = ingest_raw(raw=b"Subject: no sender\r\n\r\nbody")
    ingest_raw(raw=mail())
    for path in ("inboundemail", "imapmailboxstate", "autoacknowledgement"):
        assert client.get(f"/admin/mail/{path}/").status_code == 200, path
    page = client.get("/admin/mail/inboundemail/?status=quarantined").content.decode()
    assert "no usable From address" in page
    response = client.post(
        "/admin/mail/inboundemail/",
        {"action": "retry", "_selected_action": [quarantined.pk]},
        follow=True,
    )
    assert "Retried 1 quarantined email(s)." in response.content.decode()
    assert InboundEmail.objects.filter(source=f"retry of {quarantined.pk}").get().status == (
        InboundStatus.QUARANTINED  # still no sender: quarantined again, with its reason
    )
