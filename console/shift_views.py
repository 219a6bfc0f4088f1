"""The agent's shift: see what ending it would move, end it, start a new one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import agent_required, current_user
from policy.loader import get_policy
from workload import shifts
from workload.middleware import OFF_KEY, SEEN_KEY
from workload.models import ShiftEnd


@agent_required
def shift_end(request: HttpRequest) -> HttpResponse:
    agent = current_user(request)
    if request.method == "POST":
        moved = shifts.shift_end(agent=agent, reason=ShiftEnd.ENDED)
        request.session[OFF_KEY] = True
        request.session.pop(SEEN_KEY, None)
        messages.success(
            request,
            f"Your shift has ended; {len(moved)} ticket{'s' if len(moved) != 1 else ''} "
            "went to colleagues on shift or back to the team's queue.",
        )
        return redirect("console:shift_end")
    return render(
        request,
        "console/shift.html",
        {
            "shift": shifts.shift_current(agent=agent),
            "to_move": list(shifts.tickets_to_move(agent=agent)[:200]),
            "absence": get_policy().workload.reassign_after_absence,
        },
    )


@agent_required
def shift_start(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.session.pop(OFF_KEY, None)
        shifts.shift_seen(agent_id=current_user(request).pk, start=True)
        messages.success(request, "Your shift has started.")
        return redirect("console:inbox")
    return redirect("console:shift_end")
