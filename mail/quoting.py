"""What an agent reads first of an email: the new reply, apart from the quoted history,
the signature and any forwarded message. Display only; the stored body is untouched, so
the original is always one click away.

Line by line, with string tests on each line (no regular expression that could
backtrack): this runs every time an agent opens a ticket, on up to 50,000 characters a
sender controls. The library used before (mailparser-reply) took 44 s on one line of
``On x x x …`` without ``wrote:``.
"""

from __future__ import annotations

from dataclasses import dataclass

# A header line longer than this is prose, not "On <date>, <name> wrote:".
_MAX_HEADER_CHARS = 300
# A signature is the end of a message: one that would start earlier is not one.
_MAX_SIGNATURE_LINES = 12

# Markers mail clients put above a forwarded message (Gmail, Apple Mail, Outlook,
# Thunderbird; English, French, German), and the one our parser writes for a
# message/rfc822 attachment; compared without the dashes around them.
_FORWARD_MARKERS = (
    "forwarded message",
    "message transféré",
    "message transfere",
    "weitergeleitete nachricht",
    "original-nachricht",
)
_FORWARD_LINES = ("begin forwarded message:",)
_ORIGINAL_MESSAGE = ("original message", "message d'origine", "ursprüngliche nachricht")
# "On <date>, <name> wrote:" and its French and German forms: (start, end).
_WROTE = (("on ", "wrote:"), ("le ", "a écrit :"), ("le ", "a écrit:"), ("am ", "schrieb:"))
# Outlook's header block: "From:" then, within a few lines, one of these.
_OUTLOOK_FIELDS = ("sent:", "date:", "to:", "subject:", "gesendet:", "envoyé :", "envoyé:")
_OUTLOOK_FROM = ("from:", "von:", "de :", "de:")
# First characters of every header above; other lines are skipped at once.
_HEADER_FIRST = frozenset(
    [start[0] for start, _end in _WROTE] + [field[0] for field in _OUTLOOK_FROM] + ["-"]
)
_MOBILE = ("sent from my ", "get outlook for ", "envoyé de mon ", "von meinem ")
_CLOSINGS = frozenset(
    {
        "best",
        "best regards",
        "best wishes",
        "cheers",
        "kind regards",
        "many thanks",
        "regards",
        "sincerely",
        "thank you",
        "thanks",
        "warm regards",
        "warmest regards",
        "yours faithfully",
        "yours sincerely",
        "cordialement",
        "bien à vous",
        "mit freundlichen grüßen",
        "viele grüße",
    }
)


@dataclass(frozen=True)
class ReplyParts:
    new: str  # what the sender wrote this time
    signature: str
    quoted: str  # the earlier conversation they quoted
    forwarded: str  # a forwarded message: the substance, not history to hide

    @property
    def has_hidden_text(self) -> bool:
        return bool(self.signature or self.quoted)


def _bare(line: str) -> str:
    """The line without quote marks and surrounding space, lower case."""
    return line.lstrip(" \t>").strip().lower()


def _is_forward_marker(bare: str) -> bool:
    if bare in _FORWARD_LINES:
        return True
    if not bare.startswith("--") or not bare.endswith("--") or len(bare) > _MAX_HEADER_CHARS:
        return False
    return bare.strip("- ") in _FORWARD_MARKERS


def _is_wrote_header(bare: str, following: str) -> bool:
    """ "On …, … wrote:", also when the client wrapped it onto a second line."""
    if len(bare) > _MAX_HEADER_CHARS:
        return False
    for start, end in _WROTE:
        if bare.startswith(start) and (
            bare.endswith(end) or (len(following) <= _MAX_HEADER_CHARS and following.endswith(end))
        ):
            return True
    return False


def _is_outlook_header(bares: list[str], index: int) -> bool:
    if not bares[index].startswith(_OUTLOOK_FROM):
        return False
    return any(line.startswith(_OUTLOOK_FIELDS) for line in bares[index + 1 : index + 5])


def _quote_start(lines: list[str], bares: list[str]) -> int | None:
    """The first line of the quoted history: a reply header, else a block of "> " lines
    that runs to the end."""
    for index, bare in enumerate(bares):
        if bare[:1] not in _HEADER_FIRST:  # most lines: one set look-up, no calls
            continue
        following = bares[index + 1] if index + 1 < len(bares) else ""
        if (
            _is_wrote_header(bare, following)
            or (bare.startswith("-----") and bare.strip("- ") in _ORIGINAL_MESSAGE)
            or _is_outlook_header(bares, index)
        ):
            return index
    start = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].lstrip(" \t")
        if line.startswith(">"):
            start = index
        elif line.strip():
            break
    return start


def _signature_start(lines: list[str]) -> int | None:
    """Where the signature begins in the new text: the "-- " delimiter, a "Sent from
    my …" line or a closing ("Best regards,") in the last lines."""
    first = max(0, len(lines) - _MAX_SIGNATURE_LINES)
    for index in range(first, len(lines)):
        line = lines[index]
        bare = line.strip().lower()
        if line.rstrip("\r") in ("-- ", "--"):
            return index
        if bare.startswith(_MOBILE) and len(bare) <= 80:
            return index
        if index > 0 and bare.rstrip(",.!") in _CLOSINGS:
            return index
    return None


def reply_parts(text: str) -> ReplyParts:
    """Split an email body. When no new text can be told apart (all quoted, or the
    heuristics find nothing), the whole body is the new part: never hide what is unsure."""
    lines = text.split("\n")
    bares = [_bare(line) for line in lines]
    forwarded = ""
    for index, bare in enumerate(bares):
        if bare[:1] in ("-", "b") and _is_forward_marker(bare):
            forwarded = "\n".join(lines[index:]).strip()
            lines, bares = lines[:index], bares[:index]
            break
    quote_at = _quote_start(lines, bares)
    quoted = ""
    if quote_at is not None:
        quoted = "\n".join(lines[quote_at:]).strip()
        lines = lines[:quote_at]
    signature_at = _signature_start(lines)
    signature = ""
    if signature_at is not None:
        delimiter = lines[signature_at].rstrip("\r") in ("-- ", "--")
        signature = "\n".join(lines[signature_at + (1 if delimiter else 0) :]).strip()
        lines = lines[:signature_at]
    new = "\n".join(lines).strip()
    if not new:
        if forwarded:
            return ReplyParts(new="", signature="", quoted="", forwarded=forwarded)
        return ReplyParts(new=text.strip(), signature="", quoted="", forwarded="")
    return ReplyParts(new=new, signature=signature, quoted=quoted, forwarded=forwarded)
