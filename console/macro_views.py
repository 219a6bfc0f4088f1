"""Macros in the console: the management page, and the search the reply box calls."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import agent_required, current_user
from macros import selectors
from macros.forms import MacroForm
from macros.models import Macro
from macros.placeholders import TICKET_PLACEHOLDERS, macro_render
from macros.services import MacroError, macro_delete, macro_save
from tickets import selectors as ticket_selectors
from tickets.models import Ticket


def _editable(request: HttpRequest, macro_id: int) -> Macro:
    macro = selectors.macro_get_for(agent=current_user(request), macro_id=macro_id)
    if macro is None or not selectors.macro_can_edit(user=current_user(request), macro=macro):
        raise Http404("No such macro.")
    return macro


def _form_page(request: HttpRequest, form: MacroForm, macro: Macro | None) -> HttpResponse:
    user = current_user(request)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        shared = bool(data.pop("shared", False))
        try:
            saved = macro_save(user=user, macro=macro, shared=shared, **data)
        except MacroError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Macro “{saved.title}” saved.")
            return redirect("console:macros")
    macros = selectors.macros_for(agent=user, query=request.GET.get("q", "")[:100], limit=500)
    return render(
        request,
        "console/macros.html",
        {
            "form": form,
            "editing": macro,
            "macros": macros,
            "placeholders": TICKET_PLACEHOLDERS,
            "q": request.GET.get("q", ""),
        },
        status=400 if request.method == "POST" else 200,
    )


@agent_required
def macros(request: HttpRequest) -> HttpResponse:
    form = MacroForm(request.POST or None)
    return _form_page(request, form, None)


@agent_required
def macro_edit(request: HttpRequest, macro_id: int) -> HttpResponse:
    macro = _editable(request, macro_id)
    form = MacroForm(request.POST or None, instance=macro)
    return _form_page(request, form, macro)


@agent_required
@require_POST
def macro_remove(request: HttpRequest, macro_id: int) -> HttpResponse:
    macro = _editable(request, macro_id)
    try:
        macro_delete(user=current_user(request), macro=macro)
    except MacroError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Macro “{macro.title}” deleted.")
    return redirect("console:macros")


@agent_required
def macros_json(request: HttpRequest) -> JsonResponse:
    """``?q=words&ticket=id``: the macros matching, text filled in for that ticket."""
    agent = current_user(request)
    ticket = None
    raw = request.GET.get("ticket", "")
    if raw.isdigit():
        try:
            ticket = ticket_selectors.ticket_get_for_viewer(viewer=agent, ticket_id=int(raw))
        except Ticket.DoesNotExist:
            raise Http404("No such ticket.") from None
    rows = [
        {
            "id": macro.pk,
            "title": macro.title,
            "shared": macro.shared,
            "body": macro_render(text=macro.body, ticket=ticket, agent=agent),
            "status": macro.set_status,
            "actions": {
                "priority": macro.set_priority,
                "category": macro.set_category,
                "team": macro.set_team,
                "tags": macro.tag_names,
            },
        }
        for macro in selectors.macros_for(agent=agent, query=request.GET.get("q", "")[:100])
    ]
    return JsonResponse({"macros": rows})
