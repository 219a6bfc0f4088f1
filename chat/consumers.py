"""WebSocket consumers: the customer's widget/app and the agent's console.

They parse frames, call ``chat.services`` in a worker thread, and pass frames on;
no business rules live here. The wire format is in ``docs/chat-protocol.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError
from uvicorn.protocols.utils import ClientDisconnected

from accounts.models import User
from accounts.staff_sessions import staff_socket_check
from chat import batching, protocol, relay, selectors, services, tokens
from chat.db import db
from chat.models import ChatSession, Sender
from core.errors import UserError
from core.sockets import SocketConsumer
from core.throttle import Throttled, scope_ip, throttle
from identity.services import CodeWrong
from monitoring.metrics import chat_socket_closed, chat_socket_opened

logger = logging.getLogger(__name__)

Frame = dict[str, Any]
# Queue snapshots are coalesced per console: at most one a second, however many chats
# start. Offers to the agent are sent at once, apart from the snapshots; the wait times
# on the console tick by themselves.
QUEUE_SNAPSHOT_DELAY_SECONDS = 1.0
# A console whose own chats did not change gets the shared queue alone; its own list is
# read again at least this often all the same, with the next snapshot, in case a change
# to it was not announced as such (its last messages and unread counts are kept current
# by the activity frames in between).
OWN_CHATS_REFRESH_SECONDS = 30.0
SESSION_CACHE_SIZE = 200  # chats an agent socket keeps looked up
# What an agent socket closed by the account re-check is told (close code 4401).
_REVOKED = {
    "account_disabled": "This account has been deactivated.",
    "not_staff": "This account is no longer on the support team.",
    "signed_out": "You were signed out. Sign in to the console again.",
    "idle_timeout": "You were signed out after a long time without activity. Sign in again.",
    "second_factor_required": "Confirm your sign-in with your authenticator app, then reload.",
}


class _TokenBucket:
    def __init__(self, burst: int, per_second: float):
        self.capacity, self.rate = float(burst), per_second
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class _FrameConsumer(SocketConsumer):
    """Shared frame handling: size limit, rate limit, JSON parsing, error frames.

    A frame's handler runs in a task of its own, not in the receive loop. Channels
    dispatches a consumer's messages one at a time, so a handler awaiting the database
    would hold up everything else of that socket: frames relayed to it from the channel
    layer (the customer's messages an agent is waiting for) and reading the socket, until
    uvicorn's queue of unread frames is full and it stops reading, keepalive pongs
    included, and closes the connection. Frames with the same ``_order_key`` (the same
    chat) still run one after the other, in the order they arrived.
    """

    handlers: dict[str, str] = {}
    rate_burst = protocol.RATE_BURST
    rate_per_second = protocol.RATE_PER_SECOND
    # How long a closing socket waits for its frames in progress (their acks no longer
    # reach the client, which resends with the same client ids after reconnecting).
    DRAIN_SECONDS = 10.0

    # Which open-socket gauge of /metrics this socket counts in (monitoring.metrics).
    socket_kind = "customer"
    counted = False

    async def connect(self) -> None:
        self.bucket = _TokenBucket(self.rate_burst, self.rate_per_second)
        self.rate_strikes = 0
        self.last_strike_at = 0.0
        self.in_line: dict[str, asyncio.Task[None]] = {}  # last frame task per order key
        self.in_progress: set[asyncio.Task[None]] = set()
        await self.accept()
        chat_socket_opened(self.socket_kind)
        self.counted = True

    def _order_key(self, frame: Frame) -> str:
        """Frames with the same key are handled in arrival order."""
        return ""

    def _handle_in_order(self, frame: Frame, handler: Callable[[Frame], Awaitable[None]]) -> None:
        key = self._order_key(frame)
        before = self.in_line.get(key)
        task = asyncio.ensure_future(self._handle_after(before, frame, handler))
        self.in_line[key] = task
        self.in_progress.add(task)
        task.add_done_callback(lambda done: self._handled(key, done))

    async def _handle_after(
        self,
        before: asyncio.Task[None] | None,
        frame: Frame,
        handler: Callable[[Frame], Awaitable[None]],
    ) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self._handle(frame, handler)
        except ClientDisconnected:
            pass  # the client resends what was not acknowledged when it is back
        except Exception:
            # As when the handler ran in the receive loop: an unexpected failure closes
            # the socket (1011), and the client resumes and resends what was not
            # acknowledged, rather than waiting for an answer that will not come.
            logger.exception("A chat frame of type %r failed", frame.get("type"))
            with contextlib.suppress(ClientDisconnected):
                await self.close(code=1011)

    def _handled(self, key: str, task: asyncio.Task[None]) -> None:
        self.in_progress.discard(task)
        if self.in_line.get(key) is task:
            del self.in_line[key]

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.counted:
            self.counted = False
            chat_socket_closed(self.socket_kind)
        if getattr(self, "in_progress", None):
            await asyncio.wait(set(self.in_progress), timeout=self.DRAIN_SECONDS)
        await super().websocket_disconnect(message)

    async def send_frame(self, frame: Frame) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def fail(
        self,
        code: str,
        detail: str,
        *,
        close: int | None = None,
        ref: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        await self.send_frame(protocol.error(code, detail, ref=ref, **(extra or {})))
        if close is not None:
            await self.close(code=close)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.fail("binary_not_supported", "Send JSON text frames.")
            return
        if len(text_data) > protocol.MAX_FRAME_BYTES or (
            len(text_data.encode()) > protocol.MAX_FRAME_BYTES
        ):
            await self.fail(
                "frame_too_large",
                f"Frames are limited to {protocol.MAX_FRAME_BYTES} bytes; upload files over HTTP.",
                close=protocol.CLOSE_MESSAGE_TOO_BIG,
            )
            return
        if not self.bucket.take():
            now = time.monotonic()
            if now - self.last_strike_at > protocol.RATE_STRIKE_WINDOW_SECONDS:
                self.rate_strikes = 0
            self.last_strike_at = now
            self.rate_strikes += 1
            if self.rate_strikes >= protocol.RATE_STRIKES_BEFORE_CLOSE:
                await self.fail(
                    "rate_limited",
                    "Too many frames; the connection is closed.",
                    close=protocol.CLOSE_TOO_MANY_FRAMES,
                )
            else:
                await self.fail(
                    "rate_limited",
                    "Too many frames; slow down and resend what was not acknowledged.",
                    ref=_ref(text_data),
                )
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            await self.fail("invalid_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.fail("invalid_frame", 'A frame is a JSON object with a "type".')
            return
        name = self.handlers.get(frame["type"])
        if name is None:
            await self.fail(
                "unknown_type",
                f"Unknown frame type {frame['type'][:40]!r}.",
                ref=_str(frame.get("client_id")),
            )
            return
        self._handle_in_order(frame, getattr(self, name))

    async def _handle(self, frame: Frame, handler: Callable[[Frame], Awaitable[None]]) -> None:
        try:
            await handler(frame)
        except services.ChatUnavailable as exc:
            extra = {"next_open_at": exc.next_open_at.isoformat()} if exc.next_open_at else {}
            await self.fail(exc.code, exc.message, ref=_str(frame.get("client_id")), extra=extra)
        except UserError as exc:
            await self.fail(
                exc.code,
                exc.message,
                ref=_str(frame.get("client_id")),
                extra={"field": exc.field} if exc.field else None,
            )

    async def chat_frame(self, event: dict[str, Any]) -> None:
        await self.send_frame(event["frame"])

    async def _stored(self, item: services.MessageIn) -> services.Stored | None:
        """Store a message with the others arriving meanwhile (``chat.batching``); its
        (entry, created) once committed. A refusal (a ``UserError``) is raised for
        ``_handle`` to answer, and so is the database being away (the socket closes,
        the client resumes and resends). Any other fault was this message's alone (the
        rest of its batch was stored): it is answered with an error, the socket stays."""
        outcome = await batching.message_store(item)
        error = outcome.error
        if error is None:
            return outcome.unwrap()
        if isinstance(error, UserError | OperationalError | InterfaceError):
            raise error
        logger.error("A chat message could not be stored", exc_info=error)
        await self.fail(
            "message_failed",
            "This message could not be stored. Edit it and send it again as a new message.",
            ref=_str(item.client_id),
        )
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))[:300]
    return ""


def _ref(text: str) -> str | None:
    try:
        return _str(json.loads(text).get("client_id"))
    except (ValueError, AttributeError, RecursionError):
        return None


# --- Customers


class CustomerChatConsumer(_FrameConsumer):
    handlers = {
        "start": "on_start",
        "resume": "on_resume",
        "message": "on_message",
        "typing": "on_typing",
        "delivered": "on_delivered",
        "read": "on_read",
        "escalate": "on_escalate",
        "end": "on_end",
        "rate": "on_rate",
        "transcript": "on_transcript",
        "verify_request": "on_verify_request",
        "verify": "on_verify",
        "ping": "on_ping",
    }

    session: ChatSession | None = None
    sent_seq = 0
    # Frames relayed while the socket attaches (welcome and catch-up still to send):
    # they go out after the catch-up, in order, so none jumps ahead of the replay.
    held: list[Frame] | None = None

    async def disconnect(self, code: int) -> None:
        if self.session is not None:
            await self.channel_layer.group_discard(
                relay.session_group(self.session.public_id), self.channel_name
            )

    async def chat_frame(self, event: dict[str, Any]) -> None:
        if self.held is not None:
            self.held.append(event["frame"])
            return
        await self._send_live(event["frame"])

    async def _send_live(self, frame: Frame) -> None:
        seq = frame.get("seq")
        if isinstance(seq, int):
            if seq <= self.sent_seq:
                return  # already sent during catch-up
            self.sent_seq = seq
        await self.send_frame(frame)

    async def _require_session(self, frame: Frame) -> ChatSession | None:
        if self.session is None:
            await self.fail(
                "not_started", 'Send "start" or "resume" first.', ref=_str(frame.get("client_id"))
            )
            return None
        claimed = frame.get("session")
        if claimed is not None and str(claimed) != str(self.session.public_id):
            await self.fail(
                "forbidden",
                "This connection belongs to another conversation.",
                close=protocol.CLOSE_FORBIDDEN,
            )
            return None
        return self.session

    async def _attach(self, session: ChatSession, *, last_seq: int) -> None:
        """Join the session's group, greet, then replay what the client has not seen."""
        self.session = session
        self.held = []
        try:
            await self.channel_layer.group_add(
                relay.session_group(session.public_id), self.channel_name
            )
            welcome = await db(selectors.welcome_frame)(session)
            await self.send_frame(welcome)
            self.sent_seq = max(0, last_seq)
            missed = await db(selectors.entry_frames_after)(session, self.sent_seq)
            for entry in missed:
                if entry["seq"] > self.sent_seq:
                    self.sent_seq = entry["seq"]
                    await self.send_frame(entry)
        finally:
            held, self.held = self.held, None
        for frame in held:
            await self._send_live(frame)

    async def on_start(self, frame: Frame) -> None:
        if self.session is not None:
            await self.fail("already_started", "This connection already has a chat.")
            return
        user = self.scope.get("user")
        request = services.StartRequest(
            name=_str(frame.get("name")) or "",
            email=_str(frame.get("email")) or "",
            category=_str(frame.get("category")) or "",
            text=frame.get("text"),  # type: ignore[arg-type]  # checked by the service
            client_id=frame.get("client_id"),  # type: ignore[arg-type]
            order_number=_str(frame.get("order_number")) or "",
            platform=_str(frame.get("platform")) or "web",
            page_url=_str(frame.get("page_url")) or "",
            referrer=_str(frame.get("referrer")) or "",
            user_agent=_header(self.scope, b"user-agent"),
        )
        signed_in = user if isinstance(user, User) and user.is_authenticated else None
        if signed_in is None:
            try:
                await sync_to_async(throttle, thread_sensitive=False)(
                    scope="chat_start",
                    limits=[
                        (
                            "IZONIE_THROTTLE_CHAT_START_PER_IP",
                            scope_ip(self.scope),
                            "from your network",
                        ),
                        (
                            "IZONIE_THROTTLE_CHAT_START_PER_ADDRESS",
                            request.email.strip(),
                            "for this email address",
                        ),
                    ],
                )
            except Throttled as exc:
                await self.fail(
                    "throttled",
                    exc.message,
                    ref=_str(request.client_id),
                    extra={"retry_after": exc.retry_after},
                )
                return
        # Written with the starts arriving meanwhile; answered after their commit.
        outcome = await batching.start_store(services.StartIn(request=request, user=signed_in))
        session, created = outcome.unwrap()
        if created:
            batching.assign_soon()
        await self.send_frame({"type": "ack", "client_id": request.client_id, "seq": 1})
        await self._attach(session, last_seq=0)

    async def on_resume(self, frame: Frame) -> None:
        token = _str(frame.get("token")) or ""
        try:
            public_id = tokens.session_id_from(token)
        except tokens.TokenError as exc:
            await self.fail(exc.code, str(exc), close=protocol.CLOSE_UNAUTHENTICATED)
            return
        session = await db(services.chat_get)(public_id)
        if session is None:
            await self.fail(
                "token_invalid", "This chat no longer exists.", close=protocol.CLOSE_UNAUTHENTICATED
            )
            return
        if self.session is not None and self.session.pk != session.pk:
            await self.fail(
                "forbidden",
                "This connection belongs to another conversation.",
                close=protocol.CLOSE_FORBIDDEN,
            )
            return
        last_seq = frame.get("last_seq", 0)
        await self._attach(session, last_seq=last_seq if isinstance(last_seq, int) else 0)

    async def on_message(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        stored = await self._stored(
            services.MessageIn(
                session=session, client_id=frame.get("client_id"), text=frame.get("text")
            )
        )
        if stored is None:
            return
        entry, created = stored
        ack: Frame = {"type": "ack", "client_id": entry.client_id, "seq": entry.seq}
        if not created:
            ack["duplicate"] = True
        await self.send_frame(ack)

    async def on_typing(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        await self.channel_layer.group_send(
            relay.watch_group(session.public_id),
            {
                "type": "chat.frame",
                "frame": {
                    "type": "typing",
                    "session": str(session.public_id),
                    "sender": "customer",
                    "state": bool(frame.get("state", True)),
                },
            },
        )

    async def _mark(self, frame: Frame, *, delivered: bool) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        seq = frame.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            await self.fail("invalid_frame", "seq must be a whole number.")
            return
        await db(services.chat_mark)(
            session=session, by=Sender.CUSTOMER, read_seq=seq, delivered=delivered
        )

    async def on_delivered(self, frame: Frame) -> None:
        await self._mark(frame, delivered=True)

    async def on_read(self, frame: Frame) -> None:
        await self._mark(frame, delivered=False)

    async def on_escalate(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        created = await db(services.chat_escalate)(
            session=session, reason=_str(frame.get("reason")) or ""
        )
        await self.send_frame({"type": "escalated", "new": created})

    async def on_end(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        # The customer is read in the database thread: after an earlier frame replaced
        # self.session, it is not loaded, and reading it here, in the event loop, raised
        # (a 1011 close for a plain "end").
        self.session = await db(lambda: services.chat_end(session=session, by=session.customer))()

    async def on_rate(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        self.session = await db(services.chat_rate)(
            session=session, score=frame.get("score"), comment=frame.get("comment", "")
        )
        await self.send_frame({"type": "rated", "score": self.session.rating})

    async def on_transcript(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        email = await db(services.chat_transcript_request)(session=session)
        await self.send_frame({"type": "transcript_queued", "email": email})

    async def on_verify_request(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        email = await db(services.chat_verify_request)(session=session)
        await self.send_frame(
            {
                "type": "verify_sent",
                "email": email,
                "expires_in": settings.IZONIE_IDENTITY_CODE_TTL_SECONDS,
            }
        )

    async def on_verify(self, frame: Frame) -> None:
        session = await self._require_session(frame)
        if session is None:
            return
        try:
            # From now on the chat's messages are the account's: keep the new copy.
            self.session = await db(services.chat_verify)(session=session, code=frame.get("code"))
        except CodeWrong as exc:
            await self.fail(
                exc.code, exc.message, extra={"field": "code", "attempts_left": exc.attempts_left}
            )

    async def on_ping(self, frame: Frame) -> None:
        await self.send_frame({"type": "pong"})


# --- Agents


def recheck_delay(interval: float) -> float:
    """How long a console socket waits before its next account check: somewhere in the
    second half of the interval, so each check still comes within it. A fixed wait kept
    the sockets that connected together (every console after a restart, bench.day's
    agents) checking in the same second of every minute: 75 checks at once per web
    process, and the chat messages of that second queued behind them (bench.day's chat
    p99 was one 10-s window a minute, 500-1,100 ms, the others about 50-150 ms)."""
    return interval * random.uniform(0.5, 1.0)


class AgentChatConsumer(_FrameConsumer):
    socket_kind = "agent"
    # One console speaks for many chats at once (accepting a rush of offers, typing in
    # several), so it gets a larger allowance than a customer's socket.
    rate_burst = protocol.AGENT_RATE_BURST
    rate_per_second = protocol.AGENT_RATE_PER_SECOND
    handlers = {
        "presence": "on_presence",
        "ping": "on_ping",
        "watch": "on_watch",
        "unwatch": "on_unwatch",
        "accept": "on_accept",
        "message": "on_message",
        "note": "on_note",
        "typing": "on_typing",
        "read": "on_read",
        "transfer": "on_transfer",
        "end": "on_end",
        "terminate": "on_terminate",
    }

    agent: User | None = None
    snapshot_due = False
    own_chats_due = True  # the next snapshot re-reads the agent's own chats
    own_chats_read_at = 0.0
    closed = False
    revoked = False  # the account re-check failed: the socket is closing, frames are ignored
    recheck_task: asyncio.Task[None] | None = None

    def _order_key(self, frame: Frame) -> str:
        # One console works many chats: a frame for one chat does not wait for another
        # chat's database work, only for the earlier frames of its own chat.
        return _str(frame.get("session")) or ""

    async def connect(self) -> None:
        await super().connect()
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_authenticated or not user.is_agent:
            await self.fail(
                "unauthenticated",
                "Sign in to the console as a member of the support team.",
                close=protocol.CLOSE_UNAUTHENTICATED,
            )
            return
        session = self.scope.get("session")
        self.session_key: str | None = getattr(session, "session_key", None)
        self.checked_at = time.monotonic()
        self.active_since_check = False
        self.check_lock = asyncio.Lock()
        # Checked at once too: a session still waiting for its second factor, say.
        check = await db(staff_socket_check)(
            user_id=user.pk, session_key=self.session_key, now=time.time(), active=False
        )
        if check.problem is not None:
            await self._revoke(check.problem)
            return
        self.agent = check.user
        self.watching: set[str] = set()
        self.sessions: dict[str, ChatSession] = {}
        self.recheck_task = asyncio.ensure_future(self._recheck_periodically())
        await self.channel_layer.group_add(relay.AGENTS_GROUP, self.channel_name)
        await self.channel_layer.group_add(relay.agent_group(user.pk), self.channel_name)
        await db(services.presence_heartbeat)(agent=user)
        await self.send_queue()

    # --- Account re-check: a deactivated or demoted account, or a session signed out,
    # idle too long or not verified, closes the socket within
    # IZONIE_STAFF_SOCKET_RECHECK_SECONDS (on the next frame after that, or by the timer).

    async def _recheck_periodically(self) -> None:
        interval = settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS
        while not self.closed and not self.revoked:
            await asyncio.sleep(recheck_delay(interval))
            try:
                await self._account_ok(force=True)
            except ClientDisconnected:
                return
            except Exception:
                # A failed check (the database away for a moment) is tried again next time.
                logger.exception("Re-checking an agent socket's account failed")

    async def _account_ok(self, *, force: bool = False) -> bool:
        if self.revoked or self.agent is None:
            return False
        interval = settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS
        if not force and time.monotonic() - self.checked_at < interval:
            return True
        async with self.check_lock:
            if self.revoked:
                return False
            if not force and time.monotonic() - self.checked_at < interval:
                return True  # another frame's check ran while this one waited
            active, self.active_since_check = self.active_since_check, False
            check = await db(staff_socket_check)(
                user_id=self.agent.pk, session_key=self.session_key, now=time.time(), active=active
            )
            self.checked_at = time.monotonic()
            if check.problem is not None:
                await self._revoke(check.problem)
                return False
            # The chats looked up stay: who handles each and what state it is in are read
            # from its row by every service (a copy only supplies ids), so dropping them
            # here only looked every chat up again once a minute per console (18 % of the
            # server's Python time at bench/chat_load.py's 1,000 chats).
            self.agent = check.user
            return True

    async def _revoke(self, problem: str) -> None:
        self.revoked = True
        if self.agent is not None:
            # Not offered chats (nor tickets) any more: its offers go to someone else now,
            # not when the heartbeat lapses.
            try:
                await db(services.presence_set)(agent=self.agent, status="offline")
            except Exception:
                logger.exception("Setting a revoked agent socket's presence offline failed")
        await self.fail(
            problem,
            _REVOKED.get(problem, "Sign in to the console again."),
            close=protocol.CLOSE_UNAUTHENTICATED,
        )

    async def _handle(self, frame: Frame, handler: Callable[[Frame], Awaitable[None]]) -> None:
        if frame.get("type") != "ping":
            # The console's heartbeat is not the agent at work; any other frame is.
            self.active_since_check = True
        if not await self._account_ok():
            return
        await super()._handle(frame, handler)

    async def disconnect(self, code: int) -> None:
        if self.recheck_task is not None:
            self.recheck_task.cancel()
        if self.agent is None:
            return
        await self.channel_layer.group_discard(relay.AGENTS_GROUP, self.channel_name)
        await self.channel_layer.group_discard(relay.agent_group(self.agent.pk), self.channel_name)
        for public_id in self.watching:
            await self.channel_layer.group_discard(relay.watch_group(public_id), self.channel_name)

    async def send_queue(self) -> None:
        assert self.agent is not None
        self.own_chats_due = False
        self.own_chats_read_at = time.monotonic()
        snapshot = await db(selectors.agent_snapshot)(self.agent)
        await self.send_frame(snapshot)

    async def chat_frame(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        if frame.get("type") == "queue_changed":
            named = frame.get("agents")
            if named is None or (self.agent is not None and self.agent.pk in named):
                self.own_chats_due = True
            # A burst of queue changes (a rush of new chats) costs one snapshot per
            # agent, not one per change.
            if not self.snapshot_due:
                self.snapshot_due = True
                asyncio.get_running_loop().call_later(
                    QUEUE_SNAPSHOT_DELAY_SECONDS, lambda: asyncio.ensure_future(self._snapshot())
                )
            return
        await self.send_frame(frame)

    async def _snapshot(self) -> None:
        self.snapshot_due = False
        if self.agent is None or self.closed:
            return
        stale = time.monotonic() - self.own_chats_read_at > OWN_CHATS_REFRESH_SECONDS
        try:
            if self.own_chats_due or stale:
                await self.send_queue()
            else:
                await self.send(text_data=await db(selectors.shared_queue_text)())
        except ClientDisconnected:
            # The console went away while the snapshot waited; it gets a fresh one on
            # reconnecting.
            self.closed = True

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.closed = True
        await super().websocket_disconnect(message)

    async def _session(self, frame: Frame) -> ChatSession | None:
        """The chat a frame names. Looked up once per socket: the services re-read and
        lock the row (and re-check who may act) for every change, so a kept copy only
        spares a query per frame."""
        raw = _str(frame.get("session")) or ""
        session = self.sessions.get(raw)
        if session is None and raw:
            session = await db(services.chat_get)(raw)
            if session is not None:
                if len(self.sessions) >= SESSION_CACHE_SIZE:
                    self.sessions.pop(next(iter(self.sessions)))
                self.sessions[raw] = session
        if session is None:
            await self.fail("not_found", "No such chat.", ref=_str(frame.get("client_id")))
        return session

    async def on_presence(self, frame: Frame) -> None:
        assert self.agent is not None
        await db(services.presence_set)(agent=self.agent, status=_str(frame.get("status")) or "")
        await self.send_queue()

    async def on_ping(self, frame: Frame) -> None:
        assert self.agent is not None
        await db(services.presence_heartbeat)(agent=self.agent)
        await self.send_frame({"type": "pong"})

    async def on_watch(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        key = str(session.public_id)
        if key not in self.watching:
            self.watching.add(key)
            await self.channel_layer.group_add(relay.watch_group(key), self.channel_name)
        after = frame.get("last_seq", 0)
        frames = await db(selectors.entry_frames_after)(
            session, after if isinstance(after, int) else 0
        )
        await self.send_frame({"type": "history", "session": key, "entries": frames})

    async def on_unwatch(self, frame: Frame) -> None:
        key = _str(frame.get("session")) or ""
        if key in self.watching:
            self.watching.discard(key)
            await self.channel_layer.group_discard(relay.watch_group(key), self.channel_name)

    async def on_accept(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        await db(services.chat_accept)(session=session, agent=self.agent)
        await self.on_watch(frame)

    async def on_message(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        assert self.agent is not None
        stored = await self._stored(
            services.MessageIn(
                session=session,
                client_id=frame.get("client_id"),
                text=frame.get("text"),
                agent=self.agent,
            )
        )
        if stored is None:
            return
        entry, created = stored
        ack: Frame = {
            "type": "ack",
            "session": str(session.public_id),
            "client_id": entry.client_id,
            "seq": entry.seq,
        }
        if not created:
            ack["duplicate"] = True
        await self.send_frame(ack)

    async def on_note(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        await db(services.chat_agent_note)(
            session=session, agent=self.agent, text=frame.get("text")
        )

    async def _session_handled(self, frame: Frame) -> ChatSession | None:
        """The chat a frame names, if this agent may act in it (not only look at it)."""
        session = await self._session(frame)
        if session is None:
            return None
        assert self.agent is not None
        if not await db(selectors.agent_handles)(session=session, agent=self.agent):
            raise services.NotYourChat("This chat is handled by another agent.")
        return session

    async def on_typing(self, frame: Frame) -> None:
        session = await self._session_handled(frame)
        if session is None:
            return
        await self.channel_layer.group_send(
            relay.session_group(session.public_id),
            {
                "type": "chat.frame",
                "frame": {
                    "type": "typing",
                    "session": str(session.public_id),
                    "sender": "agent",
                    "state": bool(frame.get("state", True)),
                },
            },
        )

    async def on_read(self, frame: Frame) -> None:
        session = await self._session_handled(frame)
        seq = frame.get("seq")
        if session is None or not isinstance(seq, int):
            return
        await db(services.chat_mark)(session=session, by=Sender.AGENT, read_seq=seq)

    async def on_transfer(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        await db(services.chat_transfer_by_keys)(
            session=session,
            by=self.agent,
            to_agent_id=frame.get("to_agent"),
            to_team=_str(frame.get("to_team")) or "",
            note=_str(frame.get("note")) or "",
        )

    async def on_end(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        await db(services.chat_end)(
            session=session, by=self.agent, reason=_str(frame.get("reason")) or ""
        )

    async def on_terminate(self, frame: Frame) -> None:
        session = await self._session(frame)
        if session is None:
            return
        await db(services.chat_end)(
            session=session,
            by=self.agent,
            reason=_str(frame.get("reason")) or "",
            for_conduct=True,
        )
