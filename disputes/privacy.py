"""What one side of a dispute may see of the other: never an email address or a phone
number, and the buyer only by first name."""

from __future__ import annotations

import re

from accounts.models import User

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Nigerian and international numbers as people type them: +234 803 123 4567, 0803-123-4567,
# (0803) 1234567. Seven or more digits with spaces, dots, dashes or brackets between.
PHONE = re.compile(r"(?<![\w-])\+?\(?\d[\d\s().-]{6,}\d(?![\w-])")
ORDER_LIKE = re.compile(r"^[A-Z]{2}-\d{8}$")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or ORDER_LIKE.match(text.strip()):
        return text
    return "[phone number hidden]"


def redact_contacts(text: str) -> str:
    """``text`` with email addresses and phone numbers replaced by a visible marker."""
    text = EMAIL.sub("[email hidden]", text)
    return PHONE.sub(_phone, text)


def buyer_label(buyer: User) -> str:
    """How the seller sees the buyer: the first name alone, else "Buyer"."""
    first = (buyer.first_name or "").strip().split(" ")[0]
    if not first or "@" in first or any(ch.isdigit() for ch in first):
        return "Buyer"
    return first[:40]
