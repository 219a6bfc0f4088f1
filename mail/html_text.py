"""HTML mail as readable text: what agents read (and search, screening and triage see)
when a message has no text/plain part.

A real HTML parser (lexbor, through selectolax: the HTML5 parsing algorithm in C,
linear in its input) builds the tree; a walk over it writes paragraphs, line breaks,
list items and links ("text (url)"), with entities decoded and scripts, styles and the
head dropped. The earlier regular expressions left entities in (``Hello&#32;world``)
and took 16 s on 140 KB of ``<script``.

Two guards come first. The HTML5 algorithm checks the stack of open elements for each
new block element (is a ``<p>`` open to close?), so 10,000 nested ``<div>`` cost
10,000 x 10,000 steps (0.4 s). No real mail nests 100 deep: a linear pre-scan drops
the tags opened beyond ``MAX_NESTING`` (their text stays) before parsing. The same scan
drops every tag after the first ``MAX_TAGS``, which bounds the walk.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

# HTML beyond this is not converted: it is kept raw, and the text of the first 500 KB is
# ten times the longest body we store (50,000 characters).
MAX_HTML_CHARS = 500_000
MAX_NESTING = 100
# The walk below costs one Python step per element (about 1.6 microseconds): 12,500
# ``<li>`` in a 50,000-character mail took 21 ms. The largest HTML part of the 303 real
# mails in mail/tests/corpus has 539 tags, a long newsletter a few thousand;
# past this many, the rest of the mail keeps its words and loses its layout.
MAX_TAGS = 5_000

_DROPPED = frozenset(
    {
        "script",
        "style",
        "head",
        "title",
        "template",
        "noscript",
        "svg",
        "math",
        "iframe",
        "object",
        "select",
        "button",
    }
)
# A blank line around these, a line break around those.
_PARAGRAPHS = frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "dl",
        "table",
        "blockquote",
        "pre",
        "hr",
        "figure",
    }  # and <p>, unless Outlook's (see _outlook_line)
)
_LINES = frozenset(
    {
        "div",
        "li",
        "tr",
        "dt",
        "dd",
        "address",
        "article",
        "aside",
        "section",
        "header",
        "footer",
        "nav",
        "main",
        "center",
        "form",
        "fieldset",
        "caption",
        "figcaption",
        "details",
        "summary",
    }
)
_CELLS = frozenset({"td", "th"})
_INLINE = frozenset(
    {
        "abbr",
        "b",
        "big",
        "cite",
        "code",
        "del",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "label",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
    }
)
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
# Closed by the parser when the next one opens (or its parent closes): never deep.
_IMPLIED_END = frozenset(
    {
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
        "optgroup",
        "rb",
        "rt",
        "rp",
        "tbody",
        "thead",
        "tfoot",
        "colgroup",
        "caption",
    }
)
# A tag's start: no two parts can match the same text, so no backtracking.
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
# A whole tag, up to its ">". A "<" ends the attempt: otherwise a run of "<a" without
# any ">" would scan to the end from every "<" (quadratic); this way each character is
# read at most twice.
_WHOLE_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SPACES = re.compile(r"[ \t\r\n\f\xa0\u200b]+")


def _max_depth(html: str) -> int:
    depth = deepest = 0
    for closing, name in _TAG_START.findall(html):
        tag = name.lower()
        if tag in _VOID or tag in _IMPLIED_END:
            continue
        if closing:
            depth = depth - 1 if depth else 0
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _cap_tags(html: str, *, max_depth: int, max_tags: int) -> str:
    """``html`` without the tags opened deeper than ``max_depth`` (and as many closing
    tags), and without any tag after the first ``max_tags``: their text stays, only the
    layout goes. Depth is an approximation of the tree (it leaves out the tags a parser
    closes by itself, like ``<p>`` and ``<li>``), enough to bound it. Linear: one pass
    over the tag starts to measure, a second to cut only when needed; the end of a tag
    is searched for only when it is cut, and never twice over the same text."""
    tags = html.count("<")
    if tags <= max_depth or (tags <= max_tags and _max_depth(html) <= max_depth):
        return html
    kept: list[str] = []
    depth = dropped = start = seen = 0
    gt = -1
    for found in _TAG_START.finditer(html):
        seen += 1
        if seen > max_tags:  # every tag from here on goes: in one linear pass, in C
            position = max(found.start(), start)
            kept.append(html[start:position])
            kept.append(_WHOLE_TAG.sub(" ", html[position:]))
            return "".join(kept)
        closing, tag = found.group(1), found.group(2).lower()
        if tag in _VOID or tag in _IMPLIED_END:
            continue
        if closing:
            if not dropped:
                depth = depth - 1 if depth else 0
                continue
            dropped -= 1
        elif depth < max_depth:
            depth += 1
            continue
        else:
            dropped += 1
        position = found.start()
        if position < start:  # inside a tag already cut
            continue
        if gt < position:
            gt = html.find(">", position)
            if gt == -1:
                break
        kept.append(html[start:position])
        kept.append(" ")  # a cut tag still separates the words on either side
        start = gt + 1
    kept.append(html[start:])
    return "".join(kept)


def _link_suffix(node: LexborNode, text: str) -> str:
    href = (node.attributes.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "data:", "cid:")):
        return ""
    shown = href[7:] if href.lower().startswith("mailto:") else href
    words = text.strip().lower()
    if not words:
        return shown
    # A link whose text is already its address (perhaps without the tracking query).
    if shown.lower() in words or words.startswith(("http://", "https://", "www.")):
        return ""
    if "@" in words and words in shown.lower():
        return ""
    return f" ({shown})"


def _outlook_line(node: LexborNode) -> bool:
    # Word's paragraphs have no margins (p.MsoNormal {margin:0cm}): each is one line, and
    # the blank lines between are paragraphs of their own holding &nbsp;.
    return "Mso" in (node.attributes.get("class") or "")


class _Writer:
    """Text with pending breaks: a break is written only between two pieces of text, so
    empty paragraphs and nested blocks make one blank line, never five."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0  # newlines owed before the next text
        self.at_line_start = True
        self.quote_depth = 0  # open <blockquote>s: their lines start with "> "

    def brk(self, newlines: int) -> None:
        """A block's edge: at least ``newlines`` newlines before the next text."""
        self.pending = max(self.pending, newlines)

    def line_break(self) -> None:
        """``<br>``: ends the current line, or adds an empty one when it already ended
        ("a<br></div>" is one line, "a<br><br>b" leaves a blank line)."""
        self.pending += 1

    def text(self, value: str, *, pre: bool = False) -> None:
        parts = self.parts
        if not pre:
            if "\xa0" in value and self.pending and parts and not value.strip():
                # A paragraph holding only &nbsp; is how Outlook writes an empty line.
                self.pending += 1
            value = _SPACES.sub(" ", value)
            if self.pending or self.at_line_start:
                value = value.lstrip(" ")
            if not value:
                return
        if self.pending and parts:
            prefix = "> " * self.quote_depth
            blank = "\n" + prefix.rstrip()
            parts.append(blank * (self.pending - 1) + "\n" + prefix)
        elif not parts and self.quote_depth:
            parts.append("> " * self.quote_depth)
        self.pending = 0
        if not value:
            return
        if not pre and value[0] == " " and parts and parts[-1][-1:] == " ":
            value = value[1:]
        parts.append(value)
        self.at_line_start = value[-1:] == "\n"

    def marker(self, value: str) -> None:
        """A list item's "- " or "1. ": starts a line, no whitespace to fold."""
        if self.pending < 1 and self.parts:
            self.pending = 1
        self.text(value, pre=True)

    def result(self) -> str:
        # Lines without trailing spaces, and never more than one blank line in a row.
        lines: list[str] = []
        for line in "".join(self.parts).split("\n"):
            line = line.rstrip()
            if line or (lines and lines[-1]):
                lines.append(line)
        return "\n".join(lines).strip()


class _Converter:
    """What the elements with more to do than a line break write when they open and
    when they close (list markers, link addresses, quote and ``<pre>`` state)."""

    def __init__(self) -> None:
        self.out = _Writer()
        self.pre_depth = 0
        self.lists: list[int] = []  # per open list: 0 for <ul>, the next number for <ol>
        self.link_words: list[str] | None = None  # the text of the link being read

    def text(self, value: str) -> None:
        if self.link_words is not None:
            self.link_words.append(value)
        self.out.text(value, pre=self.pre_depth > 0)

    def open(self, tag: str, node: LexborNode) -> None:
        out = self.out
        if tag == "p":
            out.brk(1 if _outlook_line(node) else 2)
        elif tag == "blockquote":
            out.quote_depth += 1
        elif tag == "hr":
            out.text("----")
            out.brk(2)
        elif tag in ("ul", "ol"):
            self.lists.append(1 if tag == "ol" else 0)
        elif tag == "li":
            number = self.lists[-1] if self.lists else 0
            if number:
                self.lists[-1] += 1
            out.marker(f"{number}. " if number else "- ")
        elif tag == "pre":
            self.pre_depth += 1
        elif tag == "a":
            self.link_words = []
        elif tag == "img" and self.link_words is not None:
            alt = (node.attributes.get("alt") or "").strip()
            if alt:  # an image link: its alt text names the link
                self.link_words.append(alt)

    def close(self, tag: str, node: LexborNode) -> None:
        out = self.out
        if tag == "p":
            out.brk(1 if _outlook_line(node) else 2)
        elif tag == "blockquote":
            out.quote_depth = max(0, out.quote_depth - 1)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        elif tag == "a" and self.link_words is not None:
            suffix = _link_suffix(node, "".join(self.link_words))
            self.link_words = None
            if suffix:
                out.text(suffix)


# Newlines owed before the next text at the edges of a block. Looked up in the walk
# itself: most elements need nothing else, so no method call per element.
_BREAKS = {**dict.fromkeys(_LINES, 1), **dict.fromkeys(_PARAGRAPHS, 2)}
_OPEN_ACTIONS = frozenset({"p", "blockquote", "hr", "ul", "ol", "li", "pre", "a", "img"})
_CLOSE_ACTIONS = frozenset({"p", "blockquote", "ul", "ol", "pre", "a"})


def html_to_text(html: str) -> str:
    """Readable text of an HTML document or fragment; "" for none."""
    if not html or not html.strip():
        return ""
    tree = LexborHTMLParser(
        _cap_tags(html[:MAX_HTML_CHARS], max_depth=MAX_NESTING, max_tags=MAX_TAGS)
    )
    tree.strip_tags(sorted(_DROPPED))  # with their content
    # Inline markup changes no line of the text: unwrapped (in C) and the text around it
    # merged, so a flood of <b>x</b> is one text node for the walk below, not 12,500.
    tree.unwrap_tags(sorted(_INLINE))
    tree.merge_text_nodes()
    root = tree.body
    if root is None:
        return ""
    converter = _Converter()
    out = converter.out
    breaks = _BREAKS
    # The parser's own pre-order walk (in C, no recursion); an element closes when the
    # walk reaches a node that is not inside it. ``open_ids`` holds the elements around
    # the current node, by identity.
    open_ids: list[int] = []
    open_nodes: list[tuple[str, LexborNode]] = []
    for node in root.traverse(include_text=True):
        parent = node.parent
        parent_id = parent.mem_id if parent is not None else 0
        while open_ids and open_ids[-1] != parent_id:
            open_ids.pop()
            tag, element = open_nodes.pop()
            if tag in breaks:
                if out.pending < breaks[tag]:
                    out.pending = breaks[tag]
            elif tag in _CELLS:
                out.text(" ")
            if tag in _CLOSE_ACTIONS:
                converter.close(tag, element)
        tag = node.tag or ""
        if tag == "-text":
            converter.text(node.text_content or "")
            continue
        if tag == "br":  # the commonest element in mail: no children, nothing to close
            out.pending += 1
            continue
        if tag == "-comment":
            continue
        if tag in breaks and out.pending < breaks[tag]:
            out.pending = breaks[tag]
        if tag in _OPEN_ACTIONS:
            converter.open(tag, node)
        if tag not in _VOID:
            open_ids.append(node.mem_id)
            open_nodes.append((tag, node))
    while open_nodes:
        tag, element = open_nodes.pop()
        if tag in breaks and out.pending < breaks[tag]:
            out.pending = breaks[tag]
        if tag in _CLOSE_ACTIONS:
            converter.close(tag, element)
    return out.result()
