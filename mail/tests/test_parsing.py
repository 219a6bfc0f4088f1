"""``mail.parsing.message_from_bytes``: the standard library's parser without an
expression compiled per multipart boundary, reading every mail as the library does."""

import email
import re
from email.message import EmailMessage

import pytest

from mail import parsing
from mail.parsing import TEXT_HEADERS, message_from_bytes
from mail.tests.corpus_run import CORPUS_DIR, corpus_files
from mail.tests.test_intake import mail


def _shape(message: EmailMessage) -> list[tuple]:
    """Everything the parser decides, part by part."""
    return [
        (
            part.items(),
            None if part.is_multipart() else part.get_payload(),
            part.preamble,
            part.epilogue,
            [type(defect) for defect in part.defects],
        )
        for part in message.walk()
    ]


def _multiparts() -> list[bytes]:
    """Boundaries with every kind of character re.escape escapes, closing lines with blanks
    and CRLF, a boundary that starts another, and a multipart left unclosed."""
    raws = []
    for boundary in ["simple", "a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o", "=_Part 1 \t x", "b--b"]:
        body = (
            f"preamble\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\none\r\n"
            f"--{boundary}X not a boundary\r\n--{boundary}  \r\n"
            f"Content-Type: text/html\r\n\r\n<p>two</p>\r\n--{boundary}-- \t\r\nepilogue\r\n"
        )
        head = f'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n'
        raws.append((head + "\r\n" + body).encode())
        raws.append((head + "\r\n" + body.replace("\r\n", "\n")).encode())
        raws.append((head + "\r\n" + body.split(f"--{boundary}--")[0]).encode())
    raws.append(
        mail(
            html="<p>hello</p>",
            attachments=[("a.pdf", b"%PDF-1.4 x", "application", "pdf")],
        )
    )
    return raws


@pytest.mark.parametrize("name", corpus_files())
def test_every_corpus_mail_parses_as_the_standard_library_parses_it(name):
    raw = (CORPUS_DIR / name).read_bytes()
    library = email.message_from_bytes(raw, policy=TEXT_HEADERS)
    assert _shape(message_from_bytes(raw)) == _shape(library)


def test_multiparts_parse_as_the_standard_library_parses_them(monkeypatch):
    boundary_expressions = []
    compile_as_before = parsing._BoundaryRe.compile

    def counted(self, pattern, flags=0):
        found = compile_as_before(self, pattern, flags)
        boundary_expressions.append(not isinstance(found, re.Pattern))
        return found

    monkeypatch.setattr(parsing._BoundaryRe, "compile", counted)
    for raw in _multiparts():
        library = email.message_from_bytes(raw, policy=TEXT_HEADERS)
        ours = message_from_bytes(raw)
        assert _shape(ours) == _shape(library)
        assert len(list(ours.walk())) >= 2
    # Every boundary was matched without an expression of its own.
    assert boundary_expressions and all(boundary_expressions)
