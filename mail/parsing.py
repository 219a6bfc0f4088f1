"""Turning raw RFC 5322 bytes into the parts support needs, with the standard library."""

from __future__ import annotations

import email.errors
import email.feedparser
import email.policy
import re
import types
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import EmailMessage
from email.utils import getaddresses

from mail.bounces import Bounce, bounce_report, mail_system_sender
from mail.charsets import decode_bytes, decode_words, storable
from mail.html_text import html_to_text
from mail.slimming import OMITTED_HEADER, cap_parts, slim_raw

MAX_PARTS = 200


MAX_ENCODED_HEADER_CHARS = 8_000


class _TextHeaders(email.policy.EmailPolicy):
    """The modern policy, but header values are plain decoded text (RFC 2047 words
    decoded, lines unfolded) instead of structured header objects: structuring every
    header cost about three quarters of all parsing time, and we only read a few."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):
            return str(value)
        # NUL too: PostgreSQL text cannot hold it (the stored subject, sender, Message-ID).
        text = "".join(value.splitlines()).replace("\x00", "")
        try:
            text.encode("ascii")
        except UnicodeEncodeError:
            # Raw 8-bit header bytes (not RFC 2047): most likely UTF-8.
            return text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
        if "=?" not in text:
            return text
        # Encoded words are decoded in Python at about 0.6 µs a character; no header we
        # read needs more than this (the subject keeps 300, addresses 4,000).
        text = text[:MAX_ENCODED_HEADER_CHARS]
        try:
            return decode_words(decode_header(text))
        except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
            return text


TEXT_HEADERS = _TextHeaders()


class _BoundaryLine:
    """What the standard library's expression for one multipart boundary matches, without
    compiling it: the separator at the start of the line, then "--" when it closes the
    multipart, blanks and the line's end. ``email.feedparser`` compiles that expression
    for each boundary, and a boundary is unique to its mail, so ``re``'s cache never
    holds it: compiling was about a sixth of the time parsing took."""

    _AFTER = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")

    def __init__(self, separator: str) -> None:
        self._separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self._separator):
            return None
        return self._AFTER.match(line, len(self._separator))


class _BoundaryRe:
    """``re`` as ``_FeedParser._parsegen`` sees it: the boundary expression it compiles
    is a ``_BoundaryLine``; any other expression (one a later Python may build instead)
    is ``re``'s own, so the parser stays correct, only slower."""

    _BOUNDARY = re.compile(
        r"\(\?P<sep>(.*)\)\(\?P<end>--\)\?\(\?P<ws>\[ \\t\]\*\)"
        r"\(\?P<linesep>\\r\\n\|\\r\|\\n\)\?\$",
        re.DOTALL,
    )
    _ESCAPED = re.compile(r"\\(.)", re.DOTALL)

    def __getattr__(self, name: str) -> object:
        return getattr(re, name)

    def compile(self, pattern: str, flags: int = 0) -> object:
        found = self._BOUNDARY.fullmatch(pattern) if not flags else None
        if found is None:
            return re.compile(pattern, flags)
        # re.escape puts a backslash before each special character, and only there.
        return _BoundaryLine(self._ESCAPED.sub(r"\1", found.group(1)))


class _FeedParser(email.feedparser.FeedParser):
    """The standard library's parser, its multipart step reading ``re`` as
    ``_BoundaryRe`` (the same code, with other globals)."""

    _parsegen = types.FunctionType(
        email.feedparser.FeedParser._parsegen.__code__,  # type: ignore[attr-defined]
        {**vars(email.feedparser), "re": _BoundaryRe()},
        "_parsegen",
    )


def message_from_bytes(raw: bytes) -> EmailMessage:
    """``email.message_from_bytes(raw, policy=TEXT_HEADERS)``, without compiling an
    expression per multipart boundary (``_BoundaryLine``)."""
    parser = _FeedParser(policy=TEXT_HEADERS)
    parser.feed(raw.decode("ascii", "surrogateescape"))
    message = parser.close()
    assert isinstance(message, EmailMessage)
    return message


class UnparseableEmail(ValueError):
    pass


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes  # empty when too_large: it was never decoded
    size: int = -1  # decoded size; estimated when too_large
    too_large: bool = False

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.payload)


@dataclass
class ParsedEmail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender_email: str
    sender_name: str
    to: list[str]
    cc: list[tuple[str, str]]
    text: str
    html: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    skipped_parts: int = 0
    to_named: list[tuple[str, str]] = field(default_factory=list)  # (name, address)
    bounce: Bounce | None = None  # set when this is a delivery failure report
    automatic: str = ""  # why it looks machine-sent ("auto-submitted: auto-replied"...)


_ID_RE = re.compile(r"<([^<>\s]+)>")


def _ids(value: str | None) -> list[str]:
    return _ID_RE.findall(value or "")


def _clean_header(value: object) -> str:
    # Folded or injected line breaks never survive into our fields, nor NUL (an RFC 2231
    # file name is decoded after _TextHeaders has seen it).
    return re.sub(r"[\r\n]+", " ", str(value or "")).replace("\x00", "").strip()


# Address headers longer than this are cut before parsing: the standard library's address
# parser costs 2 to 5 µs per character (40,000 "@" took 0.2 s), and a real To or Cc of
# a hundred recipients is 4,000 characters.
MAX_ADDRESS_HEADER_CHARS = 4_000


def _address_header(message: EmailMessage, name: str) -> str:
    """The header as sent, RFC 2047 words still encoded: an encoded display name may
    hold a comma ("=?iso-8859-1?Q?Doe=2C_John?="), which decoded first would split the
    address in two. Raw 8-bit bytes are read as UTF-8, as in ``_TextHeaders``."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            text = _clean_header(value)[:MAX_ADDRESS_HEADER_CHARS]
            if not text.isascii():
                text = text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
            return text
    return ""


def _display_name(name: str) -> str:
    if "=?" not in name:
        return storable(name)
    try:
        return _clean_header(decode_words(decode_header(name[:MAX_ENCODED_HEADER_CHARS])))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return storable(name)


def _addresses(message: EmailMessage, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of an address header, names decoded."""
    return [
        (_display_name(display), address.lower())
        for display, address in getaddresses([_address_header(message, name)])
        if address
    ]


def _sender(message: EmailMessage) -> tuple[str, str, str]:
    """(display name, address, why it is machine mail) of the From. A mail-system
    sender without a usable address (From: <>, "MAILER-DAEMON", "Mail Delivery
    System <>") is named by its Return-Path, else as the mail system: it is a bounce or
    machine mail, never a mail without a sender."""
    header = _address_header(message, "From")
    found = getaddresses([header])
    display, address = found[0] if found else ("", "")
    display = _display_name(display)
    if "@" in address:
        local = address.rpartition("@")[0]
        if mail_system_sender(local):
            return display, address, f"mail-system sender ({local[:64]})"
        return display, address, ""
    words = re.sub(r"[^a-z]+", " ", f"{display} {address} {header}".lower())
    return_path = getaddresses([_address_header(message, "Return-Path")])
    system = (
        re.search(r"<\s*>", header)
        or re.search(r"\b(mailer daemon|mail daemon|postmaster|mail delivery)\b", words)
        or (address.strip() and mail_system_sender(address))
        # No From at all: a delivery report, or one the mail system's address sent.
        or (not header and message.get_content_type() == "multipart/report")
        or (not header and any(mail_system_sender(a) for _n, a in return_path if a))
    )
    if not system:
        return display, "", ""
    fallback = return_path[0][1] if return_path else ""
    if "@" not in fallback:
        fallback = "mailer-daemon@unknown.invalid"
    return display, fallback, "mail-system sender (no address in From)"


def _automatic(message: EmailMessage) -> str:
    auto = _clean_header(message.get("Auto-Submitted")).lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _clean_header(message.get("Precedence")).lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if message.get("List-Id"):
        return "List-Id: mailing-list mail"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if message.get(header):
            return f"{header} present"
    if message.get_content_type() == "multipart/report":
        return "delivery status notification"
    if message.get("X-Mailman-Version"):
        return "X-Mailman-Version: mailing-list software"
    return ""


# The addresses of mailing-list software itself (digests, confirmations, notices).
_LIST_SOFTWARE_RE = re.compile(
    r"^(owner-.+|.+-(request|owner|bounces?)|listserv|majordomo|mailman|sympa)$", re.I
)


def _list_software(address: str) -> str:
    local = address.rpartition("@")[0][:64]
    return f"mailing-list software ({local})" if _LIST_SOFTWARE_RE.match(local) else ""


def _forward_header(part: EmailMessage) -> str:
    """A forwarded message attached whole (message/rfc822): its text follows in the
    walk, so mark where it starts, as mail clients do for an inline forward."""
    inner = part.get_payload(0) if part.is_multipart() else None
    lines = ["---------- Forwarded message ---------"]
    if isinstance(inner, EmailMessage):
        for name in ("From", "Date", "Subject", "To"):
            if inner.get(name):
                lines.append(f"{name}: {_clean_header(inner.get(name))}")
    return "\n".join(lines) + "\n"


def _payload(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _text(part: EmailMessage) -> str:
    """A text part in its charset, as a mail client shows it (``mail.charsets``)."""
    return decode_bytes(_payload(part), part.get_param("charset", ""))


def _attachment(
    part: EmailMessage, filename: str, content_type: str, max_bytes: int | None
) -> ParsedAttachment:
    """An attachment, decoded only when it can be kept: a 50 MB one is measured from
    its encoded text, never decoded into memory."""
    omitted = part.get(OMITTED_HEADER)
    if omitted is not None:  # cut out by slim_raw before parsing
        transfer = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        encoded_size = int(str(omitted))
        return ParsedAttachment(
            filename=filename,
            content_type=content_type,
            payload=b"",
            size=encoded_size * 3 // 4 if transfer == "base64" else encoded_size,
            too_large=True,
        )
    encoded = part.get_payload()
    if max_bytes is not None and isinstance(encoded, str):
        transfer = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        # Base64 wrapped at 76 columns carries at least 57 bytes per 78 characters.
        at_least = len(encoded) * 57 // 78 if transfer == "base64" else len(encoded) // 3
        if at_least > max_bytes:
            estimate = len(encoded) * 3 // 4 if transfer == "base64" else len(encoded)
            return ParsedAttachment(
                filename=filename,
                content_type=content_type,
                payload=b"",
                size=estimate,
                too_large=True,
            )
    return ParsedAttachment(filename=filename, content_type=content_type, payload=_payload(part))


def _other_plain_alternatives(message: EmailMessage) -> set[int]:
    """The text/plain parts of a multipart/alternative after its first one: versions of
    the same text (some senders label their HTML version text/plain), of which a mail
    client shows one; joining them would show the customer's text twice."""
    others: set[int] = set()
    for part in message.walk():
        if part.get_content_type() != "multipart/alternative":
            continue
        payload = part.get_payload()
        plain = [
            child
            for child in (payload if isinstance(payload, list) else [])
            if isinstance(child, EmailMessage)
            and child.get_content_type() == "text/plain"
            and child.get_content_disposition() != "attachment"
        ]
        others.update(id(child) for child in plain[1:])
    return others


def parse_email(raw: bytes, *, max_attachment_bytes: int | None = None) -> ParsedEmail:
    if not re.search(rb"\S", raw[:65536]) and not re.search(rb"\S", raw):  # no copy of raw
        raise UnparseableEmail("the message is empty")
    if max_attachment_bytes is not None:
        # Base64 is 4/3 of the data, plus line breaks: a body this long cannot be kept.
        raw = slim_raw(raw, max_part_bytes=max_attachment_bytes * 14 // 10 + 4096)
    raw, cut_parts = cap_parts(raw, max_parts=MAX_PARTS)
    try:
        message = message_from_bytes(raw)
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise UnparseableEmail(f"not an email: {exc}") from exc
    sender_name, sender_email, system_sender = _sender(message)
    if not sender_email or "@" not in sender_email:
        raise UnparseableEmail("no usable From address")
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[ParsedAttachment] = []
    skipped = cut_parts
    other_alternatives = _other_plain_alternatives(message)
    for index, part in enumerate(message.walk()):
        if index >= MAX_PARTS:
            skipped += 1
            continue
        if part.get_content_type() == "message/rfc822":
            text_parts.append(_forward_header(part))
            continue
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        try:
            if disposition in ("attachment", "inline") and (
                part.get_filename() or not content_type.startswith("text/")
            ):
                attachments.append(
                    _attachment(
                        part,
                        _clean_header(part.get_filename()) or f"attachment-{index}",
                        content_type,
                        max_attachment_bytes,
                    )
                )
            elif content_type == "text/plain":
                if id(part) not in other_alternatives:
                    text_parts.append(_text(part))
            elif content_type == "text/html":
                html_parts.append(_text(part))
            elif not content_type.startswith(("text/", "multipart/")):
                attachments.append(
                    _attachment(
                        part,
                        _clean_header(part.get_filename()) or f"part-{index}",
                        content_type,
                        max_attachment_bytes,
                    )
                )
        except (LookupError, UnicodeError, ValueError, TypeError):
            # A malformed part (its filename or parameters): keep its bytes as text.
            text_parts.append(decode_bytes(_payload(part)))
    html = storable("\n".join(html_parts))
    to_named = _addresses(message, "To")
    text = "\n".join(p.strip() for p in text_parts if p.strip()) or html_to_text(html)
    return ParsedEmail(
        message_id=(_ids(message.get("Message-ID")) or [""])[0],
        in_reply_to=_ids(message.get("In-Reply-To")),
        references=_ids(message.get("References")),
        subject=_clean_header(message.get("Subject"))[:300],
        sender_email=sender_email.lower()[:320],
        sender_name=sender_name[:150],
        to=[addr for _name, addr in to_named],
        to_named=to_named,
        cc=_addresses(message, "Cc"),
        text=text,
        html=html,
        attachments=attachments,
        skipped_parts=skipped,
        bounce=bounce_report(message, raw, sender_email, system_sender=bool(system_sender)),
        automatic=_automatic(message) or system_sender or _list_software(sender_email),
    )
