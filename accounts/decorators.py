from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import User

View = Callable[..., HttpResponse]


def _role_required(check: Callable[[Any], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied("This page is for the support team.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


agent_required = _role_required(lambda user: user.is_active and user.is_agent)
supervisor_required = _role_required(lambda user: user.is_active and user.is_supervisor)
customer_required = _role_required(lambda user: user.is_active and user.is_customer)


def current_user(request: HttpRequest) -> User:
    """The signed-in user of a view protected by one of the decorators above."""
    user = request.user
    assert isinstance(user, User), "view is missing its *_required decorator"
    return user
