"""core.outbound: a fetch of a URL given by someone outside reaches only allowed public
hosts. Real HTTP servers on loopback stand in for an internal service and for a platform
CDN that the test admits."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpcore
import pytest

from core import outbound
from core.tests.net import free_port
from social.tests.platform_server import Answer, PlatformServer


@pytest.fixture
def internal() -> Iterator[PlatformServer]:
    """An internal service (an admin port, a metadata endpoint): must never be called."""
    server = PlatformServer().start()
    server.files["/secret"] = Answer(200, b"internal secret")
    yield server
    server.stop()


@pytest.fixture
def cdn(settings) -> Iterator[PlatformServer]:
    """A fake platform CDN on loopback, admitted the way the social tests admit theirs."""
    server = PlatformServer().start()
    settings.IZONIE_OUTBOUND_TEST_ORIGINS = [server.url]
    yield server
    server.stop()


def fetch(url: str, *, hosts: tuple[str, ...] = ("*.fbcdn.net",), max_bytes: int = 10_000):
    return outbound.fetch(url=url, hosts=hosts, max_bytes=max_bytes, timeout_seconds=5)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", False),
        ("127.5.6.7", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata service
        ("fe80::1", False),
        ("fc00::1", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("0.0.0.0", False),  # noqa: S104
        ("240.0.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("not-an-address", False),
        ("157.240.1.1", True),
        ("2a03:2880:f10c:83:face:b00c:0:25de", True),
    ],
)
def test_only_public_unicast_addresses_are_allowed(address, allowed):
    assert outbound.address_allowed(address) is allowed


def test_the_test_admission_is_empty_by_default():
    from django.conf import settings

    assert settings.IZONIE_OUTBOUND_TEST_ORIGINS == []


def test_with_default_settings_loopback_is_refused(internal):
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch(f"{internal.url}/secret", hosts=("*",))
    assert refused.value.reason.startswith("not an allowed")
    assert internal.requests == []


def test_an_allowed_name_that_resolves_to_loopback_is_refused_before_connecting(internal, settings):
    # "localhost" is on the allow-list here, so only the check of the resolved address
    # stands between the request and the internal service.
    port = internal.url.rsplit(":", 1)[1]
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch(f"https://localhost:{port}/secret", hosts=("localhost",))
    assert refused.value.reason == "not an allowed host"
    assert internal.requests == []


def test_a_host_off_the_allow_list_is_refused_without_resolving_it():
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch("https://evil.example/x.png")
    assert refused.value.reason == "not an allowed host"
    with pytest.raises(outbound.FetchRefused):
        fetch("https://fbcdn.net.evil.example/x.png")


def test_plain_http_is_refused():
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch("http://scontent.xx.fbcdn.net/x.png")
    assert "https only" in refused.value.reason


def test_a_redirect_from_an_admitted_host_to_loopback_is_refused(cdn, internal):
    cdn.files["/photo.png"] = Answer(302, b"", {"Location": f"{internal.url}/secret"})
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch(f"{cdn.url}/photo.png")
    assert refused.value.reason == "not an allowed address (https only)"
    assert internal.requests == []
    # Through an allow-listed name that resolves to loopback: refused at connect time.
    port = internal.url.rsplit(":", 1)[1]
    cdn.files["/photo2.png"] = Answer(302, b"", {"Location": f"https://localhost:{port}/s"})
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch(f"{cdn.url}/photo2.png", hosts=("localhost",))
    assert refused.value.reason == "not an allowed host"
    assert internal.requests == []


def test_redirects_are_followed_a_few_times_only(cdn):
    cdn.files["/a"] = Answer(302, b"", {"Location": "/b"})
    cdn.files["/b"] = Answer(301, b"", {"Location": "/c"})
    cdn.files["/c"] = Answer(200, b"image", {"Content-Type": "image/png"})
    fetched = fetch(f"{cdn.url}/a")
    assert fetched.content == b"image" and fetched.url.path == "/c"
    cdn.files["/loop"] = Answer(302, b"", {"Location": "/loop"})
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch(f"{cdn.url}/loop")
    assert refused.value.reason == "too many redirects"
    assert len([r for r in cdn.requests if r.path == "/loop"]) == outbound.MAX_REDIRECTS + 1


def test_a_body_past_the_cap_is_cut_off_while_reading(cdn):
    cdn.files["/big"] = Answer(200, b"0" * 50_000, {"Content-Length": ""})
    with pytest.raises(outbound.TooLarge) as refused:
        fetch(f"{cdn.url}/big", max_bytes=10_000)
    assert refused.value.declared is None


def test_a_closed_port_and_a_silent_one_fail_alike(settings):
    # The reason shown to an agent must not tell a closed port from an open one.
    closed = free_port()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        settings.IZONIE_OUTBOUND_TEST_ORIGINS = [
            f"http://127.0.0.1:{closed}",
            f"http://127.0.0.1:{port}",
        ]
        reasons = []
        for target in (closed, port):
            with pytest.raises(outbound.FetchRefused) as refused:
                outbound.fetch(
                    url=f"http://127.0.0.1:{target}/x.png",
                    hosts=(),
                    max_bytes=1000,
                    timeout_seconds=0.5,
                )
            reasons.append(refused.value.reason)
    assert reasons == ["no answer", "no answer"]


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    # DNS rebinding: a name answers a public address to the check and a private one to
    # the connection. The name is resolved once and the checked address is what is
    # connected to. (DNS cannot be served for real here: resolution and the socket
    # connect are stood in for, nothing leaves the machine.)
    answers = iter(["157.240.1.1", "127.0.0.1"])
    resolved: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        address = next(answers)
        resolved.append(host)
        return [(2, 1, 6, "", (address, port))]

    connected: list[str] = []

    def connect_tcp(self, host, port, *args, **kwargs):
        connected.append(host)
        raise httpcore.ConnectError("stop here")

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    with pytest.raises(outbound.FetchRefused):
        fetch("https://scontent.xx.fbcdn.net/x.png")
    assert resolved == ["scontent.xx.fbcdn.net"]
    assert connected == ["157.240.1.1"]


def test_a_name_with_any_private_address_is_refused(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(2, 1, 6, "", ("157.240.1.1", port)), (2, 1, 6, "", ("10.0.0.7", port))]

    def connect_tcp(self, host, port, *args, **kwargs):  # never reached; never the network
        raise AssertionError(f"connected to {host}")

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    with pytest.raises(outbound.FetchRefused) as refused:
        fetch("https://scontent.xx.fbcdn.net/x.png")
    assert refused.value.reason == "not an allowed host"
