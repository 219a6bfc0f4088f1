"""What an agent reads first of an email: the new reply, apart from the quoted history,
the signature and any forwarded message. Display only; the stored body is untouched, so
the original is always one click away."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply import EmailReplyParser

# Markers mail clients put above a forwarded message (Gmail, Apple Mail, Outlook,
# Thunderbird; English, French, German), and the one our parser writes for a
# message/rfc822 attachment.
FORWARD_MARKER_RE = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:Forwarded message|Message transf[ée]r[ée]|"
    r"Weitergeleitete Nachricht|Original-Nachricht)\s*-{2,}|Begin forwarded message:)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)

_parser = EmailReplyParser(languages=["en", "fr", "de"])


@dataclass(frozen=True)
class ReplyParts:
    new: str  # what the sender wrote this time
    signature: str
    quoted: str  # the earlier conversation they quoted
    forwarded: str  # a forwarded message: the substance, not history to hide

    @property
    def has_hidden_text(self) -> bool:
        return bool(self.signature or self.quoted)


def reply_parts(text: str) -> ReplyParts:
    """Split an email body. When no new text can be told apart (all quoted, or the
    heuristics find nothing), the whole body is the new part: never hide what is unsure."""
    forwarded = ""
    marker = FORWARD_MARKER_RE.search(text)
    if marker:
        forwarded = text[marker.start() :].strip()
        text = text[: marker.start()]
    replies = _parser.read(text).replies if text.strip() else []
    if not replies:
        return ReplyParts(new="", signature="", quoted="", forwarded=forwarded)
    first = replies[0]
    new = "" if first.headers else first.body
    if not new and not forwarded:
        return ReplyParts(new=text.strip(), signature="", quoted="", forwarded="")
    quoted = "\n\n".join(part.content for part in replies[1:] if part.content)
    return ReplyParts(new=new, signature=first.signatures, quoted=quoted, forwarded=forwarded)
