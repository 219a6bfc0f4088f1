"""Who really sent a mail: the verdict of the receiving side, never our own guess.

We do not check DKIM signatures or SPF records ourselves. The MTA that received the mail
(OpenDKIM + OpenDMARC or rspamd behind Postfix, Gmail for an IMAP mailbox) records its
verdict in an ``Authentication-Results`` header (RFC 8601) named by its authserv-id; a
provider's inbound webhook reports its own in fields of its own. Both become
``Evidence``: the method results (dmarc, dkim, spf) of one authority we trust, which
``sender_check`` turns into verified or not for the ``From:`` address.

Only headers whose authserv-id is configured count (IZONIE_MAIL_TRUSTED_AUTHSERV_IDS):
anyone can write an ``Authentication-Results: mx.example; dmarc=pass`` into their own
mail, and RFC 8601 section 5 asks consumers to ignore those. Of the trusted ones only the
topmost counts: the receiving MTA prepends its header, so a copy further down was in the
mail before it arrived.

Headers are attacker-controlled text: they are read after a size cap, by a scanner that
looks at each character once (no backtracking pattern), as ARCHITECTURE.md asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from django.conf import settings

# Only the header section is read, and no more of it than this.
MAX_HEADER_BYTES = 256 * 1024
# Each Authentication-Results value is cut to this before it is parsed.
MAX_RESULTS_CHARS = 8192
# Results (method=result) kept from one header; a real one has a handful.
MAX_RESULTS = 50

_FAILED_DMARC = {"fail", "quarantine", "reject"}


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of an Authentication-Results header, with its properties
    (``header.d``, ``smtp.mailfrom``, ``header.from``...), names lower-cased."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def prop(self, *names: str) -> str:
        for key, value in self.properties:
            if key in names:
                return value
        return ""


@dataclass(frozen=True)
class Evidence:
    """What one trusted authority (an authserv-id, or a provider) said about a mail."""

    authority: str
    results: tuple[MethodResult, ...] = ()
    # The provider itself classed the mail as spam.
    spam: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "authority": self.authority,
            "results": [[r.method, r.result, dict(r.properties)] for r in self.results],
            "spam": self.spam,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence | None:
        """Evidence stored with an inbound record (``as_json``); None if there is none."""
        if not data.get("authority"):
            return None
        results = tuple(
            MethodResult(str(m), str(r), tuple((str(k), str(v)) for k, v in dict(p).items()))
            for m, r, p in data.get("results", [])
        )
        return cls(str(data["authority"]), results, bool(data.get("spam")))


@dataclass(frozen=True)
class SenderCheck:
    """The outcome for one mail: ``verdict`` is pass, fail or none (no trusted verdict);
    ``verified`` also weighs IZONIE_MAIL_REQUIRE_SENDER_VERDICT; ``summary`` is for the
    agent and the admin ("dmarc=fail by mx.izonie.com")."""

    verdict: str
    verified: bool
    summary: str
    evidence: Evidence | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"verdict": self.verdict, "summary": self.summary}
        if self.evidence is not None:
            data.update(self.evidence.as_json())
        return data


# --- Reading Authentication-Results headers


def _header_section(raw: bytes) -> bytes:
    head = raw[:MAX_HEADER_BYTES]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    return head[: min(ends)] if ends else head


def header_values(raw: bytes, name: str) -> list[str]:
    """The values of the mail's headers of that name (lower-case), topmost first,
    unfolded and each cut to MAX_RESULTS_CHARS; only the header section is read."""
    wanted = name.encode()
    section = _header_section(raw)
    # Most names asked for are in no header at all (three are asked of every mail): one
    # scan in C says so, instead of a Python step per header line.
    if wanted not in section.lower():
        return []
    values: list[str] = []
    current: list[bytes] | None = None
    for line in section.splitlines():
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        if current is not None:
            values.append(b" ".join(current).decode("utf-8", "replace")[:MAX_RESULTS_CHARS])
            current = None
        key, colon, value = line.partition(b":")
        if colon and key.strip().lower() == wanted:
            current = [value[: MAX_RESULTS_CHARS + 1]]
    if current is not None:
        values.append(b" ".join(current).decode("utf-8", "replace")[:MAX_RESULTS_CHARS])
    return values


def authentication_results_headers(raw: bytes) -> list[str]:
    return header_values(raw, "authentication-results")


def _tokens(value: str) -> list[str]:
    """Split a header value into words and ";" separators in one pass: comments
    (nested parentheses) dropped, quoted strings kept whole without their quotes, the
    text around "=" joined into one word (``dkim = pass`` is ``dkim=pass``)."""
    tokens: list[str] = []
    word: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            if depth == 0:
                word.append(char)
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if char == '"':
                quoted = False
            else:
                word.append(char)
        elif depth:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
        elif char == "(":
            depth = 1
        elif char == '"':
            quoted = True
        elif char == ";" or char.isspace():
            if word:
                tokens.append("".join(word))
                word = []
            if char == ";":
                tokens.append(";")
        else:
            word.append(char)
    if word:
        tokens.append("".join(word))
    # "a = b" → "a=b": join a lone "=" (or a word ending or starting with it) to its
    # neighbours.
    joined: list[str] = []
    for token in tokens:
        if (
            joined
            and token != ";"  # noqa: S105 (a separator, not a password)
            and joined[-1] != ";"
            and (token.startswith("=") or joined[-1].endswith("="))
        ):
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def parse_authentication_results(value: str) -> tuple[str, list[MethodResult]]:
    """(authserv-id, results) of one header value (RFC 8601 section 2.2). The
    authserv-id is lower-cased; an unparseable result is skipped, not guessed."""
    tokens = _tokens(value[:MAX_RESULTS_CHARS])
    if not tokens or tokens[0] == ";":
        return "", []
    authserv_id = tokens[0].lower()
    results: list[MethodResult] = []
    index = 1
    # An optional version number after the authserv-id.
    if index < len(tokens) and tokens[index].isdigit():
        index += 1
    clause: list[str] = []
    for word in [*tokens[index:], ";"]:
        if word != ";":
            clause.append(word)
            continue
        if clause and len(results) < MAX_RESULTS:
            result = _method_result(clause)
            if result is not None:
                results.append(result)
        clause = []
    return authserv_id, results


def _method_result(clause: list[str]) -> MethodResult | None:
    method, equals, result = clause[0].partition("=")
    if not equals or not method or not result:
        return None  # "none" (no results) or something we do not understand
    method = method.partition("/")[0].lower()  # "dkim/1=pass": the version is not needed
    properties = []
    for word in clause[1:]:
        name, equals, value = word.partition("=")
        if equals and name:
            properties.append((name.lower(), value))
    return MethodResult(method, result.lower(), tuple(properties))


def evidence_from_headers(raw: bytes, *, trusted: Iterable[str] | None = None) -> Evidence | None:
    """The topmost Authentication-Results header of a trusted authserv-id, or None."""
    trusted_ids = set(settings.IZONIE_MAIL_TRUSTED_AUTHSERV_IDS if trusted is None else trusted)
    if not trusted_ids:
        return None
    for value in authentication_results_headers(raw):
        authserv_id, results = parse_authentication_results(value)
        if authserv_id in trusted_ids:
            return Evidence(authserv_id, tuple(results))
    return None


# --- The decision


def _domain(address: str) -> str:
    address = parseaddr(address)[1] or address
    return address.rpartition("@")[2].strip().strip(".").lower()


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489 section 3.1), approximated without the public suffix
    list: the same domain, or one a subdomain of the other. A sibling under a shared
    public suffix (evil.co.uk, victim.co.uk) never aligns this way."""
    domain, from_domain = domain.strip(".").lower(), from_domain.strip(".").lower()
    if not domain or not from_domain:
        return False
    return (
        domain == from_domain
        or domain.endswith("." + from_domain)
        or from_domain.endswith("." + domain)
    )


def _describe(evidence: Evidence) -> str:
    shown = ", ".join(f"{r.method}={r.result}" for r in evidence.results[:6]) or "no results"
    return f"{shown} by {evidence.authority}"


def verdict(evidence: Evidence | None, *, from_address: str) -> tuple[str, str]:
    """("pass" | "fail" | "none", why) for the From address, from one authority's results.

    The authority's own DMARC result decides when it has one. Without it (no DMARC
    module, or the domain publishes no policy) the mail passes only with an aligned
    DKIM or SPF pass: a DKIM signature of header.d, or an SPF pass of smtp.mailfrom,
    in the From domain (relaxed alignment).
    """
    if evidence is None:
        return "none", "no Authentication-Results from a trusted server"
    if evidence.spam:
        return "fail", f"marked as spam by {evidence.authority}"
    from_domain = _domain(from_address)
    for result in evidence.results:
        if result.method == "dmarc":
            if result.result == "pass":
                return "pass", _describe(evidence)
            if result.result in _FAILED_DMARC:
                return "fail", _describe(evidence)
    for result in evidence.results:
        if result.result != "pass":
            continue
        if result.method == "dkim":
            signer = result.prop("header.d") or _domain(result.prop("header.i"))
            if aligned(signer, from_domain):
                return "pass", _describe(evidence)
        elif result.method == "spf" and aligned(_domain(result.prop("smtp.mailfrom")), from_domain):
            return "pass", _describe(evidence)
    return "fail", f"no DKIM or SPF pass aligned with {from_domain}: {_describe(evidence)}"


def sender_check(
    evidence: Evidence | None, *, from_address: str, required: bool | None = None
) -> SenderCheck:
    if required is None:
        required = settings.IZONIE_MAIL_REQUIRE_SENDER_VERDICT
    outcome, why = verdict(evidence, from_address=from_address)
    verified = outcome == "pass" or (outcome == "none" and not required)
    return SenderCheck(outcome, verified, why[:500], evidence)


# --- Provider webhooks: each reports its verdict its own way


def _first_header(headers: Iterable[tuple[str, str]], name: str) -> str:
    """The topmost header of that name: the provider prepends its own, so a copy below
    it came with the mail (and a forger may have written one)."""
    for key, value in headers:
        if key.lower() == name:
            return str(value).strip()
    return ""


def _dkim_domains(headers: Iterable[tuple[str, str]]) -> list[str]:
    domains = []
    for key, value in headers:
        if key.lower() == "dkim-signature":
            for tag in str(value)[:MAX_RESULTS_CHARS].split(";"):
                name, _, tag_value = tag.strip().partition("=")
                if name.strip() == "d":
                    domains.append(tag_value.strip().lower())
    return domains


def _signature_results(dkim_pass: bool, headers: list[tuple[str, str]]) -> list[MethodResult]:
    """A provider that says only "DKIM passed" without naming the signer: the pass is
    taken as aligned only when every signature of the mail is by an aligned domain
    (which signature passed is not known), so each one is listed with its domain."""
    if not dkim_pass:
        return [MethodResult("dkim", "fail")]
    domains = _dkim_domains(headers)
    if len(set(domains)) != 1:
        return [MethodResult("dkim", "pass")]  # no single signer: not aligned
    return [MethodResult("dkim", "pass", (("header.d", domains[0]),))]


def mailgun_evidence(message_headers: list[tuple[str, str]], envelope_sender: str) -> Evidence:
    """Mailgun adds X-Mailgun-Spf, X-Mailgun-Dkim-Check-Result and X-Mailgun-Sflag when
    its spam filter is set to "Mark spam with MIME headers"."""
    spf = _first_header(message_headers, "x-mailgun-spf").lower()
    dkim = _first_header(message_headers, "x-mailgun-dkim-check-result").lower()
    spam = _first_header(message_headers, "x-mailgun-sflag").lower() == "yes"
    results: list[MethodResult] = []
    if dkim:
        results += _signature_results(dkim == "pass", message_headers)
    if spf:
        results.append(MethodResult("spf", spf, (("smtp.mailfrom", envelope_sender),)))
    return Evidence("mailgun", tuple(results), spam)


def sendgrid_evidence(post: Mapping[str, str]) -> Evidence:
    """SendGrid's Inbound Parse posts ``dkim`` ("{@example.com : pass, @x.com : fail}"),
    ``SPF`` ("pass") and ``envelope`` ({"from": ...}) as form fields of its own."""
    results: list[MethodResult] = []
    for part in str(post.get("dkim", ""))[:MAX_RESULTS_CHARS].strip("{} ").split(","):
        domain, colon, outcome = part.partition(":")
        domain = domain.strip().lstrip("@").lower()
        if colon and domain:
            results.append(MethodResult("dkim", outcome.strip().lower(), (("header.d", domain),)))
    try:
        envelope = json.loads(str(post.get("envelope", "{}")))
        envelope_from = str(envelope.get("from", "")) if isinstance(envelope, dict) else ""
    except ValueError:
        envelope_from = ""
    spf = str(post.get("SPF", "")).strip().lower()
    if spf:
        results.append(MethodResult("spf", spf, (("smtp.mailfrom", envelope_from),)))
    return Evidence("sendgrid", tuple(results))


def postmark_evidence(message_headers: list[tuple[str, str]], envelope_sender: str) -> Evidence:
    """Postmark runs SpamAssassin and prepends X-Spam-Status and X-Spam-Tests (whose
    DKIM_VALID_AU means a valid signature by the From domain) and Received-SPF."""
    tests = {t.strip().upper() for t in _first_header(message_headers, "x-spam-tests").split(",")}
    spam = _first_header(message_headers, "x-spam-status").lower().startswith("yes")
    spf = _first_header(message_headers, "received-spf").split(" ", 1)[0].lower()
    results: list[MethodResult] = []
    if "DKIM_VALID_AU" in tests:
        from_domain = _domain(_first_header(message_headers, "from"))
        results.append(MethodResult("dkim", "pass", (("header.d", from_domain),)))
    elif tests & {"DKIM_SIGNED", "DKIM_INVALID", "DKIM_VALID"}:
        results.append(MethodResult("dkim", "fail" if "DKIM_VALID" not in tests else "pass"))
    if spf:
        results.append(MethodResult("spf", spf, (("smtp.mailfrom", envelope_sender),)))
    return Evidence("postmark", tuple(results), spam)


def amazon_ses_evidence(
    receipt: Mapping[str, Any], message_headers: list[tuple[str, str]], envelope_sender: str
) -> Evidence:
    """Amazon SES puts its verdicts in the SNS-signed notification's ``receipt``:
    dmarcVerdict, spfVerdict, dkimVerdict, spamVerdict, virusVerdict (PASS, FAIL, GRAY,
    PROCESSING_FAILED). GRAY DMARC means the domain publishes no policy: then an aligned
    DKIM or SPF pass decides, as for any receiver without a DMARC result."""

    def status(key: str) -> str:
        value = receipt.get(key)
        return str(value.get("status", "")).lower() if isinstance(value, Mapping) else ""

    results: list[MethodResult] = []
    dmarc, dkim, spf = status("dmarcVerdict"), status("dkimVerdict"), status("spfVerdict")
    if dmarc:
        results.append(MethodResult("dmarc", "none" if dmarc == "gray" else dmarc))
    if dkim in ("pass", "fail"):
        results += _signature_results(dkim == "pass", message_headers)
    if spf:
        results.append(MethodResult("spf", spf, (("smtp.mailfrom", envelope_sender),)))
    spam = "fail" in (status("spamVerdict"), status("virusVerdict"))
    return Evidence("amazon ses", tuple(results), spam)
