"""Who is calling, and which tickets and people they may name."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja.errors import AuthorizationError

from accounts.models import User
from tickets import selectors
from tickets.exceptions import InvalidAssignee
from tickets.models import Ticket


def request_user(request: HttpRequest) -> User:
    """The user the API's authentication (token or session) accepted."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def require_agent(user: User, *, message: str = "Only the support team can do this.") -> None:
    if not user.is_agent:
        raise AuthorizationError(message=message)


def ticket_for(user: User, ticket_id: int) -> Ticket:
    """The ticket if ``user`` may see it; otherwise a 404 exactly like a missing id,
    so a customer cannot learn which ids exist."""
    try:
        return selectors.ticket_get_for_viewer(viewer=user, ticket_id=ticket_id)
    except Ticket.DoesNotExist:
        raise Http404 from None


def agent_by_id(agent_id: int, *, field: str) -> User:
    agent = User.objects.filter(pk=agent_id, is_active=True).first()
    if agent is None or not agent.is_agent:
        raise InvalidAssignee(f"There is no active agent with id {agent_id}.", field=field)
    return agent
