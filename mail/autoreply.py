"""RFC 3834: when an automatic message (acknowledgement, order-number or photo request,
conduct reminder, rating request, escalation notice) must not be sent.

Two kinds of rule. Some are about the mail that came in (``machine_mail_reason``,
with the Auto-Submitted / Precedence / List-Id / X-Auto-Response-Suppress checks of
``mail.parsing``): such mail is kept but opens no ticket, so nothing answers it. The
others are about the address an automatic message would go to (``auto_reply_refused``):
checked where each automatic message leaves, whatever opened the ticket (a postmaster
may write to support and get a human answer, never an automatic one; someone may type
our own address into the contact form, which must not start a loop).
"""

from __future__ import annotations

import re

from django.conf import settings

from mail.authentication import header_values

# Local parts nobody reads (RFC 3834 section 2, and common practice). Anchored literal
# alternatives on at most 64 characters: linear, whatever the address.
_UNREAD_LOCAL_RE = re.compile(
    r"(no|do[-_.]?not)[-_.]?reply|mail(er)?[-_.]?daemon|mdaemon|postmaster|bounces?|"
    r"ndr$|imss$|mail[-_.]?delivery[-_.]?(system|subsystem)$|"
    r"auto[-_.]?(reply|responder|confirm)|listserv|majordomo|owner-|.*-(owner|request|bounces?)$",
    re.IGNORECASE,
)


def support_address() -> str:
    return str(settings.DEFAULT_FROM_EMAIL).lower()


def is_our_address(address: str) -> bool:
    """The support address itself or one of its plus-addresses (support+123@...)."""
    address = address.strip().lower()
    local, _, domain = support_address().partition("@")
    if address == support_address():
        return True
    own_local, at, own_domain = address.rpartition("@")
    return bool(at) and own_domain == domain and own_local.startswith(local + "+")


def auto_reply_refused(address: str) -> str:
    """Why no automatic message may go to this address ("" when one may)."""
    address = address.strip().lower()
    local, at, _domain = address.rpartition("@")
    if not at or not local:
        return "no address to answer"
    if is_our_address(address):
        return "our own address"
    if _UNREAD_LOCAL_RE.match(local[:64]):
        return f"{local[:64]}@ addresses are not read by people"
    return ""


def machine_mail_reason(raw: bytes) -> str:
    """RFC 3834 rules on an incoming mail beyond those ``mail.parsing`` checks: a null
    return path (Return-Path: <>, as auto-responders and bounces send) and
    List-Unsubscribe (bulk or list mail). "" for a mail a person may have written."""
    for value in header_values(raw, "return-path")[:1]:
        if value.strip().strip("<>").strip() == "":
            return "null return path (Return-Path: <>)"
    if header_values(raw, "list-unsubscribe"):
        return "List-Unsubscribe: bulk or mailing-list mail"
    return ""
