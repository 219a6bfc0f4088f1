"""Text of mail in whatever charset it was sent in, as a mail client would show it.

Real mail declares charsets that Python's codecs refuse or decode wrongly: ``gb2312``
text written with characters only its superset ``gb18030`` has, ``ks_c_5601-1987``,
``iso-8859-8-i``, a quoted or RFC 2231 ``charset*=`` parameter, a charset that is no
charset at all, or a declaration that is plainly wrong (UTF-8 bytes labelled
``gb2312``). Mail clients map the aliases and guess the rest; so does this, with
charset-normalizer when neither the declaration nor UTF-8 fits. UTF-7 is decoded, and
what PostgreSQL cannot store (NUL, the lone surrogates a broken UTF-7 word leaves) is
taken out, so a mail that a client would show is never quarantined for its charset.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

# What mail clients (and the WHATWG encoding standard they follow) read these as.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "ms_kanji": "cp932",
    "iso-8859-1": "cp1252",  # as every browser and mail client does
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode20utf8": "utf-8",
    "utf8": "utf-8",
    "x-user-defined": "cp1252",
    "unknown-8bit": "",
    "unknown": "",
    "x-unknown": "",
    "default": "",
}
# NUL and lone surrogates: PostgreSQL text holds neither (the insert fails).
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
# Detection reads this much: enough for a verdict, bounded time on a large part.
_DETECT_BYTES = 64 * 1024


def storable(text: str) -> str:
    """``text`` without the characters the database refuses."""
    return _UNSTORABLE_RE.sub("", text)


def charset_name(declared: object) -> str:
    """A Python codec name for a declared charset, "" when it names none. Tolerates
    what parsers hand over: an RFC 2231 (charset, language, value) tuple, quotes,
    spaces, stray punctuation."""
    if isinstance(declared, tuple):  # RFC 2231: charset*=utf-8''... parsed as a tuple
        declared = declared[2] if len(declared) == 3 else ""
    name = str(declared or "").strip().strip("\"'").strip().lower()
    name = name.split(";")[0].strip()
    if "''" in name:  # an RFC 2231 value left whole: charset''value
        name = name.split("''", 1)[1]
    name = _ALIASES.get(name, name)
    if not name or len(name) > 40:
        return ""
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return ""


def decode_bytes(payload: bytes, declared: object = "") -> str:
    """Text of ``payload`` declared as ``declared``: the declaration when the bytes are
    valid in it, UTF-8 when they are UTF-8 (a wrong label; real text in another
    multi-byte or 8-bit charset is almost never valid UTF-8), else the charset
    charset-normalizer finds, else the declaration with replacement characters."""
    codec = charset_name(declared)
    if payload.isascii() and codec != "utf-7":
        return storable(payload.decode("ascii"))
    if codec == "utf-7":
        return storable(payload.decode("utf-7", errors="replace"))
    if codec != "utf-8":
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return storable(text)
    if codec:
        try:
            return storable(payload.decode(codec))
        except UnicodeDecodeError:
            pass
    best = from_bytes(payload[:_DETECT_BYTES]).best()
    guess = best.encoding if best is not None else ""
    return storable(payload.decode(guess or codec or "utf-8", errors="replace"))


def decode_words(words: list[tuple[bytes | str, str | None]]) -> str:
    """The text of a header from ``email.header.decode_header``'s (bytes, charset)
    pieces, each decoded by ``decode_bytes`` (a ``gb2312`` word is read as ``gb18030``,
    an unknown charset is guessed)."""
    out = []
    for value, charset in words:
        if isinstance(value, str):
            out.append(value)
        else:
            out.append(decode_bytes(value, charset or "utf-8"))
    return storable("".join(out))
