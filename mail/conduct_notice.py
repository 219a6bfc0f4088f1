"""The notice a blocked email sender gets: conduct decides the block, mail sends the notice."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from conduct.models import ConductBlock
from conduct.services import block_active
from mail.autoreply import auto_reply_refused
from policy.loader import get_policy
from tickets.choices import Channel

logger = logging.getLogger(__name__)


def block_email_notice(*, customer: User, message: str) -> bool:
    """Tell a blocked email sender, once per block, that new requests are paused (sent
    on commit). Returns whether a notice was queued."""
    block = block_active(customer=customer, channel=Channel.EMAIL)
    if block is None or auto_reply_refused(customer.email):
        return False
    claimed = ConductBlock.objects.filter(pk=block.pk, email_notice_at__isnull=True).update(
        email_notice_at=timezone.now()
    )
    if not claimed:
        return False
    policy = get_policy()
    email = EmailMessage(
        subject=f"Your message to {policy.organisation.name} Support",
        body=f"Hello {customer},\n\n{message}\n\n{policy.conduct.principle}\n\n"
        f"{policy.organisation.name} Support",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )

    def send() -> None:
        try:
            email.send()
        except Exception:  # a lost notice must not undo the recorded mail
            logger.exception("Conduct notice to %s not sent", customer.pk)

    transaction.on_commit(send)
    return True
