"""Fetching a URL that someone outside gave us, without letting it reach inside.

A customer's attachment on Messenger, Instagram or TikTok arrives as a link, and the
webhook that carries it is signed by the platform, but the link itself is whatever the
message says. Fetched naively (redirects followed, any host), it is a way to make this
server call its own admin ports, the cloud metadata service or the office network and
read the answer back off the ticket. So a fetch here:

- goes only to hosts on an allow-list (shell-style patterns: ``*.fbcdn.net``);
- connects only to public addresses: the host name is resolved once, every address it
  resolves to is checked (private, loopback, link-local, multicast, reserved and
  unspecified are refused, as are IPv4 addresses written in IPv6), and the connection
  is made to that checked address, so a second DNS answer cannot swap it (rebinding);
- follows redirects itself, at most a few, checking each new URL the same way;
- reads the body in chunks and stops at a byte cap, and stops at an overall deadline.

Failures raise :class:`FetchRefused` with a short, generic reason that is safe to show
to an agent: it names no address, port or exception, so the answers cannot be used to
map the inside.

Tests fetch from fake platform servers on loopback; ``IZONIE_OUTBOUND_TEST_ORIGINS``
(empty by default, set only by the tests) admits exactly those ``scheme://host:port``
origins past both checks.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import time
import typing
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx
from django.conf import settings

MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchRefused(Exception):
    """The fetch was refused or failed; ``reason`` is safe to show (no internal detail)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AddressRefused(Exception):
    """Raised from the connection layer: the host resolved to an address we never call."""


@dataclass
class Fetched:
    content: bytes
    url: httpx.URL
    content_type: str


def address_allowed(address: str) -> bool:
    """True for a public unicast address; False for anything that could be inside."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in patterns)


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _test_origins() -> set[str]:
    return {_origin(httpx.URL(o)) for o in settings.IZONIE_OUTBOUND_TEST_ORIGINS}


class _CheckedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, resolving and checking the address before connecting.

    httpcore still sends the URL's host name for TLS (SNI and certificate check) and in
    the Host header; only the TCP connection goes to the address checked here.
    """

    def __init__(self, admitted: set[tuple[str, int]]):
        self.admitted = admitted

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) in self.admitted:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError("name not resolved") from exc
        addresses = [str(info[4][0]) for info in infos]
        # All of them, not just the first: a name that resolves to one public and one
        # private address is not one we trust.
        if not addresses or not all(address_allowed(a) for a in addresses):
            raise AddressRefused(host)
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, admitted: set[tuple[str, int]]):
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_CheckedBackend(admitted),
        )


def _client() -> httpx.Client:
    # A new client per fetch: the admitted test origins are settings, and a fetch of a
    # customer's file is rare next to the cost of one handshake. trust_env=False: an
    # HTTP(S)_PROXY from the environment would resolve the name itself, past our check.
    admitted = {(httpx.URL(o).host, httpx.URL(o).port or 80) for o in _test_origins()}
    return httpx.Client(transport=_CheckedTransport(admitted), trust_env=False)


def _check_url(url: httpx.URL, hosts: Iterable[str]) -> None:
    if _origin(url) in _test_origins():
        return
    if url.scheme != "https":
        raise FetchRefused("not an allowed address (https only)")
    if not host_allowed(url.host, hosts):
        raise FetchRefused("not an allowed host")


def url_allowed(url: str, hosts: Iterable[str]) -> bool:
    """Whether ``fetch`` would start on ``url``: https to a host on the allow-list (or a
    test origin). Pages use it before showing a link someone outside gave us, so an
    agent is never offered a javascript: URL or a link to anywhere else."""
    try:
        _check_url(httpx.URL(url), list(hosts))
    except (FetchRefused, httpx.InvalidURL, TypeError):
        return False
    return True


def fetch(
    *,
    url: str,
    hosts: Iterable[str],
    max_bytes: int,
    timeout_seconds: float,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET ``url`` under the rules above. Raises :class:`FetchRefused`; the caller reports
    an HTTP status or a size with its own words through ``TooLarge``/``HttpStatus``."""
    hosts = list(hosts)
    deadline = time.monotonic() + timeout_seconds
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchRefused("not a usable address") from exc
    try:
        with _client() as client:
            for _ in range(MAX_REDIRECTS + 1):
                _check_url(current, hosts)
                with client.stream(
                    "GET",
                    current,
                    headers=headers or {},
                    timeout=httpx.Timeout(max(deadline - time.monotonic(), 0.1)),
                ) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = current.join(response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise HttpStatus(response.status_code)
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise TooLarge(int(declared))
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise TooLarge(None)
                        if time.monotonic() > deadline:
                            raise FetchRefused("took too long")
                        chunks.append(chunk)
                    return Fetched(
                        content=b"".join(chunks),
                        url=response.url,
                        content_type=response.headers.get("content-type", "").split(";")[0],
                    )
            raise FetchRefused("too many redirects")
    except AddressRefused as exc:
        raise FetchRefused("not an allowed host") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # One reason for a refused connection, a silent one and a timeout: told apart,
        # they would say which ports are open.
        raise FetchRefused("no answer") from exc


class HttpStatus(FetchRefused):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class TooLarge(FetchRefused):
    """``declared`` is the Content-Length when that alone was over the cap."""

    def __init__(self, declared: int | None):
        super().__init__("larger than the limit")
        self.declared = declared
