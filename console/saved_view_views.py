"""Saved views of the inbox: save the list on screen under a name, delete one."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from console import services
from console.models import SavedView


@agent_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")[:500]
    try:
        saved = services.saved_view_create(
            owner=current_user(request),
            name=request.POST.get("name", ""),
            query=query,
            shared=request.POST.get("shared") == "1",
        )
    except ValidationError:
        messages.error(request, "Give the view a name (up to 60 characters).")
        return redirect(f"{reverse('console:inbox')}?{query}")
    messages.success(request, f"View “{saved.name}” saved.")
    return redirect(f"{reverse('console:inbox')}?{saved.query}&saved={saved.pk}")


@agent_required
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    saved = get_object_or_404(SavedView, pk=view_id)
    if saved.owner_id != current_user(request).pk and not saved.shared:
        raise Http404("No such view.")  # another agent's personal view
    services.saved_view_delete(saved=saved, actor=current_user(request))
    messages.success(request, f"View “{saved.name}” deleted.")
    return redirect("console:inbox")
