"""What one side of a dispute may see of the other: never an email address, a phone
number or a postal address, and the buyer only by first name.

The claim is written by a customer and read by a seller, so the patterns look for the
forms people use to slip contacts past a filter: ``ada(at)gmail.com``,
``ada [at] gmail [dot] com``, ``0803 123 4567``, ``08031234567ok``, and the address
shapes Nigerian buyers write ("12 Allen Avenue, Ikeja, Lagos", "Plot 5, Block B, Lekki
Phase 1", "No. 3 Bode Thomas Street"). They run on RE2 (google-re2): linear in the
text whatever the pattern, so a hostile claim cannot stall the request. The agent sees
the result before it is sent and may edit it; what they send is redacted again.
"""

from __future__ import annotations

import re
from typing import Any

import re2

from accounts.models import User

EMAIL_MARK = "[email hidden]"
PHONE_MARK = "[phone number hidden]"
ADDRESS_MARK = "[address hidden]"

_AT = r"(?:@|\s*[(\[{<]\s*at\s*[)\]}>]\s*)"
_DOT = r"(?:\.|\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+)"
EMAIL = re2.compile(
    # a@b.c, a(at)b.com, a [at] b [dot] com; and a at b dot com, with "dot" spelt out
    # (so "I bought it at jumia.com" is not an address).
    rf"(?i)[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+"
    r"|[\w.+-]+\s+at\s+[\w-]+(?:\s+dot\s+[\w-]+)+"
)
# Seven or more digits with spaces, dots, dashes or brackets between: +234 803 123 4567,
# 0803-123-4567, (0803) 1234567, and glued to letters ("08031234567ok"). The character
# before is matched, not looked at (RE2 has no lookbehind), to leave "IZ-20461187" alone.
PHONE = re2.compile(r"(^|[^\w-])(\+?\(?\d[\d\s().-]{5,}\d)")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[.-]\d{1,2}[.-]\d{4}")

# Street kinds. Those that are everyday words too ("close", "way") count only with a
# capital: "12 Allen Close" is an address, "2 weeks then close" is not.
_STREET_ANY_CASE = (
    r"(?i:street|road|rd|avenue|ave|crescent|cres|estate|boulevard|expressway|highway|layout)"
)
_STREET_CAPITAL = r"(?:Close|Way|Drive|Lane|Str|St|Dr|Ln)"
_STREET = rf"(?:{_STREET_ANY_CASE}|{_STREET_CAPITAL})\b"
_STREET_ALL = rf"(?:{_STREET_ANY_CASE}|(?i:close|way|drive|lane|str|st|dr|ln))\b"
# "Flat 4, " or "Plot 5, Block B, " before the house number.
_UNIT_WORD = r"(?i:plot|flat|house|block|apt|apartment|suite|shop)"
_UNITS = rf"(?:{_UNIT_WORD}\.?\s*[A-Za-z0-9]{{1,5}}\b\s*,?\s*){{0,2}}"
_HOUSE = r"\d{1,5}[A-Za-z]?\b,?\s+"
# Area, town and state after the street: capitalised words after commas ("Ikeja, Lagos").
_PLACES = r"(?:\s*,\s*[A-Z][A-Za-z'-]*(?:\s+[A-Z0-9][A-Za-z0-9'-]*){0,2}){0,3}"
ADDRESS = re2.compile(
    # 12 Allen Avenue[, Ikeja, Lagos]: street name words capitalised, so "the 2 phones
    # were on Lagos road" stays.
    rf"\b{_UNITS}(?:(?i:plot|no|number)\.?\s*)?{_HOUSE}"
    rf"(?:[A-Z][A-Za-z'-]*\.?\s+){{1,4}}{_STREET}{_PLACES}"
    # No. 3 bode thomas street: "No." says a house number follows, any case after it.
    rf"|\b{_UNITS}(?i:no|number)\.?\s*{_HOUSE}(?:[A-Za-z][A-Za-z'-]*\.?\s+){{1,4}}"
    rf"{_STREET_ALL}{_PLACES}"
    # Plot 5, Block B[, Lekki Phase 1]: numbered plots and blocks without a street.
    rf"|\b(?i:plot|block|flat|house)\s*(?i:no\.?\s*)?[A-Za-z0-9]{{1,5}}\b"
    rf"(?:\s*,?\s*(?i:plot|block|flat|house|no)\.?\s*[A-Za-z0-9]{{1,5}}\b){{1,3}}{_PLACES}"
)


def _phone(match: Any) -> str:
    before, number = match.group(1), match.group(2)
    digits = sum(ch.isdigit() for ch in number)
    stripped = number.strip()
    if digits < 7 or _DATE.fullmatch(stripped):
        return match.group(0)
    return before + PHONE_MARK


def redact_contacts(text: str) -> str:
    """``text`` with email addresses, phone numbers and postal addresses replaced by a
    visible marker."""
    text = EMAIL.sub(EMAIL_MARK, text)
    text = ADDRESS.sub(ADDRESS_MARK, text)
    return PHONE.sub(_phone, text)


def buyer_label(buyer: User) -> str:
    """How the seller sees the buyer: the first name alone, else "Buyer"."""
    first = (buyer.first_name or "").strip().split(" ")[0]
    if not first or "@" in first or any(ch.isdigit() for ch in first):
        return "Buyer"
    return first[:40]
