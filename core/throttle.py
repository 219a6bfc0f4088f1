"""Limits on what anyone on the internet may start without signing in: tickets from the
contact form, chats, offline messages, acknowledgements to addresses we have never seen.

Counts live in Django's cache (per process by default, Redis when ``REDIS_URL`` is set,
so all web processes share them), in fixed windows: ``5/h`` allows 5 in each clock hour
of the key's own window, and says when the window ends (``Retry-After``). A fixed window
lets a burst of twice the rate straddle a boundary; for "do not let one address open a
thousand tickets" that is good enough, and it costs one ``add`` and one ``incr``.

Why not django-ratelimit: it gives no time until the window ends (needed for
``Retry-After``), keys everything off an ``HttpRequest`` (the chat socket and the mail
intake have none), and its system check refuses the per-process cache of the embedded
default. What it does beyond that is these forty lines.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """``"5/h"``, ``"100/10m"``; ``""`` or ``"0"`` means no limit (``None``)."""
        if text.strip() in {"", "0"}:
            return None
        match = _RATE_RE.match(text)
        if match is None:
            raise ImproperlyConfigured(f"{text!r} is not a rate like 5/h or 100/10m.")
        count, multiple, unit = match.groups()
        return cls(int(count), int(multiple or 1) * _UNITS[unit])


class Throttled(Exception):
    """Over a limit. ``retry_after``: whole seconds until the window that refused ends."""

    def __init__(self, *, retry_after: int, what: str):
        self.retry_after = max(1, retry_after)
        self.what = what
        super().__init__(self.message)

    @property
    def message(self) -> str:
        minutes = -(-self.retry_after // 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        return f"Too many requests {self.what}. Please try again in {wait}."


def _hit(*, scope: str, key: str, rate: Rate, now: float) -> int | None:
    """Count one; returns the seconds left in the window when over the limit."""
    window = int(now // rate.seconds)
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:32]
    cache_key = f"izonie:throttle:{scope}:{rate.count}/{rate.seconds}:{digest}:{window}"
    cache.add(cache_key, 0, timeout=rate.seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=rate.seconds + 1)
        count = 1
    if count > rate.count:
        return int((window + 1) * rate.seconds - now) + 1
    return None


def throttle(*, scope: str, limits: Iterable[tuple[str, str, str]]) -> None:
    """Count one attempt against each ``(setting name, key, what)`` in ``limits`` and
    raise :class:`Throttled` for the first over its limit. An empty key (no address
    given) is not counted. ``what`` ends the message: "from your network"."""
    now = time.time()
    for setting, key, what in limits:
        rate = Rate.parse(getattr(settings, setting))
        if rate is None or not key:
            continue
        retry_after = _hit(scope=f"{scope}:{setting}", key=key, rate=rate, now=now)
        if retry_after is not None:
            raise Throttled(retry_after=retry_after, what=what)


def _trusted(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_ip(*, remote_addr: str, headers: Mapping[str, str]) -> str:
    """The address a request came from: the peer's, unless the peer is one of
    ``IZONIE_TRUSTED_PROXIES``; then the right-most address of the forwarded-for header
    that is not itself a trusted proxy (left of it, anyone can write anything)."""
    proxies = settings.IZONIE_TRUSTED_PROXIES
    if not proxies or not _trusted(remote_addr, proxies):
        return remote_addr
    forwarded = headers.get(settings.IZONIE_CLIENT_IP_HEADER.lower(), "")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
    return remote_addr


def request_ip(request: object) -> str:
    """:func:`client_ip` for a Django ``HttpRequest``."""
    meta = request.META  # type: ignore[attr-defined]
    headers = request.headers  # type: ignore[attr-defined]
    return client_ip(
        remote_addr=meta.get("REMOTE_ADDR", ""), headers={k.lower(): v for k, v in headers.items()}
    )


def scope_ip(scope: Mapping[str, object]) -> str:
    """:func:`client_ip` for an ASGI connection scope (the chat socket)."""
    client = scope.get("client")
    remote = str(client[0]) if isinstance(client, (list, tuple)) and client else ""
    raw = scope.get("headers") or []
    headers = {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
        for k, v in raw  # type: ignore[attr-defined]
    }
    return client_ip(remote_addr=remote, headers=headers)


RATE_SETTINGS = (
    "IZONIE_THROTTLE_CONTACT_PER_IP",
    "IZONIE_THROTTLE_CONTACT_PER_ADDRESS",
    "IZONIE_THROTTLE_CHAT_START_PER_IP",
    "IZONIE_THROTTLE_CHAT_START_PER_ADDRESS",
    "IZONIE_THROTTLE_OFFLINE_PER_IP",
    "IZONIE_THROTTLE_OFFLINE_PER_ADDRESS",
    "IZONIE_THROTTLE_NEW_ADDRESS_ACKS",
)


def check_rates(**kwargs: object) -> list[CheckMessage]:
    """System check: every limit reads as a rate, every trusted proxy as an address."""
    problems: list[CheckMessage] = []
    for name in RATE_SETTINGS:
        try:
            Rate.parse(getattr(settings, name))
        except ImproperlyConfigured as exc:
            problems.append(Error(f"{name}: {exc}", id="izonie.E101"))
    for proxy in settings.IZONIE_TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.append(
                Error(f"IZONIE_TRUSTED_PROXIES: {proxy!r} is not an address", id="izonie.E102")
            )
    return problems
