"""The ticket page's socket: collision detection without polling.

The page says whether its agent is viewing, typing a reply or leaving; it hears who
else is on the ticket and that something was written since it was loaded. The rules
(who may connect, what presence is, what counts as news) are ``tickets.collisions``';
this passes frames on. Close codes as the desk's socket: 4401 for an account or session
that may not go on, 4403 for a ticket the agent may not see.

Frames (JSON text), ``/ws/console/tickets/<id>/``, console session cookie, own origin:

- in: ``{"type": "state", "state": "viewing" | "typing" | "left", "seen": <message id>}``,
  on every change and every ``collisions.POLL_SECONDS`` as a heartbeat;
- out: ``{"type": "presence", "colleagues": [{"name", "state"}]}`` (state ``viewing`` or
  ``replying``), ``{"type": "news", "new_messages": <n since seen>}``,
  ``{"type": "error", "code"}`` before a close.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.models import User
from core.sockets import SocketConsumer
from tickets import collisions, realtime

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
MAX_FRAME_CHARS = 1000


class TicketPresenceConsumer(SocketConsumer):
    agent: User | None = None
    ticket_id = 0
    seen_id = 0
    news = 0
    checked_at = 0.0

    async def connect(self) -> None:
        self.ticket_id = int(self.scope["url_route"]["kwargs"]["ticket_id"])
        user = self.scope.get("user")
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        await self.accept()
        if not isinstance(user, User) or not user.is_authenticated:
            await self._refuse("signed_out")
            return
        self.user_id = user.pk
        if not await self._admitted():
            return
        await self.channel_layer.group_add(realtime.ticket_group(self.ticket_id), self.channel_name)

    async def _admitted(self, *, active: bool = False) -> bool:
        admission = await database_sync_to_async(collisions.socket_admit)(
            user_id=self.user_id,
            session_key=self.session_key,
            ticket_id=self.ticket_id,
            active=active,
        )
        self.checked_at = time.monotonic()
        if admission.problem is not None:
            await self._refuse(admission.problem)
            return False
        self.agent = admission.agent
        return True

    async def _refuse(self, problem: str) -> None:
        if self.agent is not None:
            await self._leave()
        await self.send(text_data=json.dumps({"type": "error", "code": problem}))
        code = CLOSE_FORBIDDEN if problem == "forbidden" else CLOSE_UNAUTHENTICATED
        await self.close(code=code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.agent is None or not text_data or len(text_data) > MAX_FRAME_CHARS:
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            return
        if not isinstance(frame, dict) or frame.get("type") != "state":
            return
        # The account and the ticket are checked again now and then, as the desk does.
        due = time.monotonic() - self.checked_at > settings.IZONIE_STAFF_SOCKET_RECHECK_SECONDS
        if due and not await self._admitted(active=True):
            return
        seen = frame.get("seen")
        if isinstance(seen, int) and seen > self.seen_id:
            # The page shows newer messages now (swapped in after a reply): news starts over.
            self.seen_id, self.news = seen, 0
        state = collisions.state_from_wire(frame.get("state"))
        announced = await database_sync_to_async(collisions.presence_announce)(
            ticket_id=self.ticket_id, agent=self.agent, state=state
        )
        if state != collisions.LEFT and not announced.pushed:
            # A heartbeat: nothing changed here, but a polling colleague may have lapsed.
            await self._send_presence([asdict(c) for c in announced.colleagues])

    async def _send_presence(self, people: list[dict[str, Any]]) -> None:
        assert self.agent is not None
        colleagues = [
            {"name": p["name"], "state": p["state"]}
            for p in people
            if p["agent_id"] != self.agent.pk
        ]
        await self.send(text_data=json.dumps({"type": "presence", "colleagues": colleagues}))

    async def ticket_presence(self, event: dict[str, Any]) -> None:
        if self.agent is not None:
            await self._send_presence(event["people"])

    async def ticket_changed(self, event: dict[str, Any]) -> None:
        """A committed change of the ticket: tell the page when it brought new messages."""
        if self.agent is None or not self.seen_id:
            return
        news = await database_sync_to_async(collisions.news_count)(
            ticket_id=self.ticket_id, seen_id=self.seen_id, agent=self.agent
        )
        if news != self.news:
            self.news = news
            await self.send(text_data=json.dumps({"type": "news", "new_messages": news}))

    async def _leave(self) -> None:
        assert self.agent is not None
        await database_sync_to_async(collisions.presence_announce)(
            ticket_id=self.ticket_id, agent=self.agent, state=collisions.LEFT
        )

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(
            realtime.ticket_group(self.ticket_id), self.channel_name
        )
        if self.agent is not None:
            # A closed tab, a lost connection: the colleagues hear it now, not in 30 s.
            await self._leave()
