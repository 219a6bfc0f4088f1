"""Untrusted text: the worst time of each function over adversarial inputs at its limit.

    .venv/bin/python -m bench.hostile_input [--size 50000] [--runs 5]

Every pattern and parser that reads customer-controlled text gets a few inputs built
to make a backtracking engine or a naive parser go quadratic or worse (long runs that
almost match, floods of ``<script``, unclosed tags, nesting, ``On x x x`` without
``wrote:``, separators between digits...), each ``--size`` characters long. For each
input the best of ``--runs`` timings is kept (the machine's noise is not the
function's), and the worst input is printed per function, with the CPU time of the
process (``time.process_time``) beside the wall time: on a shared machine the CPU time
is the one that says what the function costs. Target: < 20 ms per function at 50,000
characters.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import django_setup


def _fill(unit: str, size: int, tail: str = "") -> str:
    body = unit * (size // len(unit) + 1)
    return body[: size - len(tail)] + tail


def _inputs(size: int) -> dict[str, list[tuple[str, str]]]:
    half = size // 2
    conduct = [
        ("a…s…x", "a" * half + "s" * (size - half - 1) + "x"),
        ("f*****", "f" + "*" * (size - 1)),
        ("f u c k …", _fill("f u c k ", size)),
        ("single letters", _fill("a ", size)),
        ("look-alikes", _fill("i1!|", size)),
        ("s$5z then h", "s$5z" * (size // 8) + "h" * (size - size // 8 * 4)),
        ("words", _fill("shit happens ", size)),
    ]
    html = [
        ("<script flood", _fill("<script", size)),
        ("<!-- flood", _fill("<!--", size)),
        ("nested <div>", _fill("<div>", size)),
        ("nested <ul>", _fill("<ul>", size)),
        ("<li> flood", _fill("<li>", size)),
        ("<br> flood", _fill("<br>", size)),
        ("<b>x</b> flood", _fill("<b>x</b>", size)),
        ("<a href> flood", _fill('<a href="http://x">', size)),
        ("&# flood", _fill("&#", size)),
        ("table cells", _fill("<table><tr><td>", size)),
        ("unclosed attribute", '<a href="' + "x" * (size - 9)),
    ]
    quoting = [
        ("On x x … (no wrote:)", "On " + _fill("x ", size - 4) + "\n"),
        ("Am x x … (no schrieb)", _fill("Am ", size)),
        ("From: lines", _fill("From: a\n", size)),
        ("> lines", _fill("> \n", size)),
        ("_ runs", _fill("\n\n_", size)),
        ("- line", "-" * size),
        ("Forwarded markers", _fill("---------- Forwarded message ", size)),
    ]
    privacy = [
        ("1 1 1 …", _fill("1 ", size)),
        ("a@a@…", _fill("a@", size)),
        ("a.a.… then @", _fill("a.", size, "@")),
        ("(at) (at) …", _fill("(at) ", size)),
        ("No. 1 No. 1 …", _fill("No. 1 ", size)),
        ("12 Allen 12 Allen …", _fill("12 Allen ", size)),
        ("Plot 5, Plot 5, …", _fill("Plot 5, ", size)),
        ("a at b dot …", _fill("a at b dot ", size)),
        (", Lagos , Lagos …", _fill(", Lagos", size)),
    ]
    search = [
        ("letters", "a" * size),
        ("punctuation", _fill("*:()\"'", size)),
        ("words", _fill("refund ", size)),
        ("controls", _fill("\x00\x1f ", size)),
    ]
    headers = [
        ("To: @@@…", _fill("@", size)),
        ("To: <<<…", _fill("<", size)),
        ("To: a@b.c, …", _fill("a@b.c, ", size)),
        ("To: encoded words", _fill("=?utf-8?q?", size)),
        ("To: quotes", _fill('"a\\', size)),
    ]
    rules = [
        ("words", _fill("refund please ", size)),
        ("spaces after a keyword", "manager" + " " * (size - 7)),
        ("letters", "a" * size),
    ]
    return {
        "conduct.screening.screen_text": conduct,
        "mail.html_text.html_to_text": html,
        "mail.quoting.reply_parts": quoting,
        "disputes.privacy.redact_contacts": privacy,
        "helpcenter query (normalise + terms)": search,
        "mail.parsing.parse_email (address headers)": headers,
        "triage rules (predict) + escalation phrases": rules,
    }


def _functions() -> dict[str, Callable[[str], Any]]:
    from conduct.screening import screen_text
    from disputes.privacy import redact_contacts
    from helpcenter.search.query import normalise_query, query_terms
    from mail.html_text import html_to_text
    from mail.parsing import parse_email
    from mail.quoting import reply_parts
    from policy.loader import get_policy
    from tickets.escalation import asks_for_escalation
    from triage.classifier import predict

    policy = get_policy()
    screening = policy.conduct.screening
    screen_text("warm up the model", screening=screening)

    def mail_with_to(value: str) -> Any:
        raw = f"From: a@b.c\r\nTo: {value}\r\nSubject: x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n"
        return parse_email(raw.encode("utf-8"))

    def rules(text: str) -> Any:
        return predict(policy=policy, pipeline=None, text=text), asks_for_escalation(text)

    return {
        "conduct.screening.screen_text": lambda text: screen_text(text, screening=screening),
        "mail.html_text.html_to_text": html_to_text,
        "mail.quoting.reply_parts": reply_parts,
        "disputes.privacy.redact_contacts": redact_contacts,
        "helpcenter query (normalise + terms)": lambda text: query_terms(normalise_query(text)),
        "mail.parsing.parse_email (address headers)": mail_with_to,
        "triage rules (predict) + escalation phrases": rules,
    }


def _best(fn: Callable[[str], Any], text: str, runs: int) -> tuple[float, float]:
    cpu = wall = float("inf")
    for _ in range(runs):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        fn(text)
        cpu = min(cpu, time.process_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started_wall)
    return cpu * 1000, wall * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    django_setup()
    functions = _functions()
    print(f"{'function':44} {'chars':>7} {'worst CPU ms':>12} {'wall ms':>8}  worst input")
    for name, inputs in _inputs(args.size).items():
        fn = functions[name]
        worst = max(
            ((*_best(fn, text, args.runs), label, len(text)) for label, text in inputs),
            key=lambda row: row[0],
        )
        cpu, wall, label, chars = worst
        print(f"{name:44} {chars:>7,} {cpu:>12.1f} {wall:>8.1f}  {label}")


if __name__ == "__main__":
    main()
