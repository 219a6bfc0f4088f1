"""A loopback HTTP server speaking the parts of the Meta Graph API and the TikTok Business
API that the social channels call, in their documented shapes. It records every request
and answers what the test queues (success by default, or the documented error bodies)."""

from __future__ import annotations

import contextlib
import email.policy
import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def meta_error(code: int, message: str, *, subcode: int | None = None, status: int = 400) -> Answer:
    """The Graph API's documented error body."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return Answer(status, json.dumps({"error": error}).encode())


def tiktok_error(code: int, message: str) -> Answer:
    """TikTok Business API errors come with HTTP 200 and a non-zero code."""
    body = {"code": code, "message": message, "request_id": "2026120318000001", "data": {}}
    return Answer(200, json.dumps(body).encode())


@dataclass
class UploadedPart:
    filename: str
    content_type: str
    content: bytes


def _form_fields(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {name: text, or UploadedPart for a file}."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields[str(name)] = UploadedPart(filename, part.get_content_type(), payload)
        else:
            fields[str(name)] = payload.decode()
    return fields


class PlatformServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        # Queued answers per path prefix, used first in, first out; else the default.
        self.queued: dict[str, list[Answer]] = {}
        self.files: dict[str, Answer] = {}
        self.profiles: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type", "")
                body: Any
                if content_type.startswith("multipart/form-data"):
                    body = _form_fields(content_type, raw)
                else:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        body = raw
                record = Recorded(
                    method, split.path, parse_qs(split.query), dict(self.headers.items()), body
                )
                with server._lock:
                    server.requests.append(record)
                answer = server.answer(record)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if value:  # "" leaves the header out (a body of undeclared size)
                        self.send_header(name, value)
                if "Content-Length" not in answer.headers:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if method != "HEAD":
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(answer.body)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> PlatformServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def queue(self, path_prefix: str, *answers: Answer) -> None:
        with self._lock:
            self.queued.setdefault(path_prefix, []).extend(answers)

    def sent(self, path_part: str = "/messages") -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and path_part in r.path]

    def answer(self, record: Recorded) -> Answer:
        with self._lock:
            for prefix, answers in self.queued.items():
                if record.path.startswith(prefix) and answers:
                    return answers.pop(0)
        if record.path in self.files:
            return self.files[record.path]
        if record.path.endswith("/messages"):
            recipient_field = (record.body or {}).get("recipient", {})
            if isinstance(recipient_field, str):  # a multipart upload: JSON in a form field
                recipient_field = json.loads(recipient_field)
            recipient = recipient_field.get("id", "")
            return Answer(
                200, json.dumps({"recipient_id": recipient, "message_id": "m_sent_1"}).encode()
            )
        if record.method == "POST" and record.path.endswith(("/comments", "/replies", "/mentions")):
            # Public replies to comments and mentions: the new comment's id.
            return Answer(200, json.dumps({"id": "c_reply_1"}).encode())
        if record.path.endswith("/business/message/send/"):
            data = {"message": {"message_id": "tt_sent_1"}}
            return Answer(200, json.dumps({"code": 0, "message": "OK", "data": data}).encode())
        if record.path.endswith("/business/message/media/download/"):
            media = (record.body or {}).get("media_id", "")
            data = {"download_url": f"{self.url}/tiktok-media/{media}.png"}
            return Answer(200, json.dumps({"code": 0, "message": "OK", "data": data}).encode())
        user_id = record.path.rsplit("/", 1)[-1]
        if record.method == "GET" and user_id in self.profiles:
            return Answer(200, json.dumps({"id": user_id, **self.profiles[user_id]}).encode())
        return meta_error(100, "Unsupported get request.", subcode=33)
