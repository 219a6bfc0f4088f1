"""HTTP side of live chat: the widget's status and offline message, the REST history
and uploads for a session (authorised by its resume token), the demo product page
and the agents' chat desk. Errors are JSON ``{code, detail, fields}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import agent_required, current_user
from accounts.models import Role, User
from chat import protocol, selectors, services, tokens
from chat.availability import PULSE_SECONDS, availability_pulse, chat_availability
from chat.models import ChatSession
from core.errors import UserError
from core.http import problem_response
from core.throttle import Throttled, request_ip, throttle
from macros import services as macros_services
from macros.selectors import macros_filled_for
from policy.loader import get_policy
from policy.selectors import hours_sentences
from tickets.attachments import check_uploads
from tickets.models import Attachment

logger = logging.getLogger(__name__)

ATTACHMENT_PLACEHOLDER = 987654321


def _error(exc: UserError) -> JsonResponse:
    return problem_response(
        403 if isinstance(exc, services.NotYourChat) else 422,
        exc.code,
        exc.message,
        {exc.field: exc.message} if exc.field else None,
    )


@require_GET
def status(request: HttpRequest) -> JsonResponse:
    """Everything the widget needs before the first frame: open or not, hours, the
    categories, the order-number format and the attachment limits, from the policy."""
    policy = get_policy()
    available = chat_availability()
    me = _signed_in_customer(request)
    # A signed-in buyer is never offered the sellers' topics.
    buyer = me is not None and me.role == Role.BUYER
    categories = [c for c in policy.categories if not (buyer and c.audience == "sellers")]
    data: dict[str, Any] = {
        "open_now": available.open_now,
        "can_start": available.can_start,
        "reason": available.reason,
        "closes_at": _iso(available.hours.closes_at),
        "next_open_at": _iso(available.hours.next_open_at),
        "holiday": available.hours.holiday,
        "time_zone": policy.calendar.time_zone,
        "hours": hours_sentences(policy.hours_for("live_chat")),
        "categories": [{"key": c.key, "name": c.name, "audience": c.audience} for c in categories],
        # Who is signed in on this site (the widget on our own pages): not asked again.
        "signed_in": (
            {"name": me.display_name or me.get_full_name() or me.username, "email": me.email}
            if me
            else None
        ),
        "order_number": {
            "pattern": policy.order_numbers.pattern,
            "example": policy.order_numbers.example,
        },
        "attachments": {
            "max_bytes": policy.attachments.max_bytes,
            "max_per_message": policy.attachments.max_per_message,
            "types": list(policy.attachments.allowed_types),
        },
        "offline_reply_promise": _email_promise(),
        "websocket_path": "/ws/chat/",
        "max_frame_bytes": protocol.MAX_FRAME_BYTES,
        "max_text_chars": services.MAX_TEXT_CHARS,
    }
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    response["Vary"] = "Cookie"
    return response


@require_GET
def pulse(request: HttpRequest) -> JsonResponse:
    """The server's hint to waiting widgets: whether a chat can start now. Public and
    the same for everyone, so it may be cached for a moment (here and by proxies); a
    widget showing "Leave a message" polls it every few seconds and asks for the full
    status when it changes, so an agent coming online is seen within seconds."""
    response = JsonResponse(availability_pulse())
    response["Cache-Control"] = f"public, max-age={int(PULSE_SECONDS)}"
    return response


def _email_promise() -> str:
    """What the policy promises for email: a message left offline is answered by email."""
    try:
        return get_policy().target("email_first_reply").promise or ""
    except KeyError:
        return ""


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _body(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


@csrf_exempt  # a public form embedded on other pages and in app web views; no session
@require_POST
def offline_message(request: HttpRequest) -> JsonResponse:
    """Offline mode's "leave a message": a ticket answered by email."""
    data = _body(request)
    if data is None:
        return problem_response(400, "invalid_json", "The request body is not a JSON object.")
    try:
        throttle(
            scope="offline",
            limits=[
                ("IZONIE_THROTTLE_OFFLINE_PER_IP", request_ip(request), "from your network"),
                (
                    "IZONIE_THROTTLE_OFFLINE_PER_ADDRESS",
                    str(data.get("email", "")).strip(),
                    "for this email address",
                ),
            ],
        )
    except Throttled as exc:
        response = problem_response(429, "throttled", exc.message)
        response["Retry-After"] = str(exc.retry_after)
        return response
    try:
        ticket = services.chat_leave_message(
            name=str(data.get("name", "")),
            email=str(data.get("email", "")),
            category=str(data.get("category", "")),
            text=str(data.get("text", "")),
            order_number=str(data.get("order_number", "")),
            page_url=str(data.get("page_url", "")),
            referrer=str(data.get("referrer", "")),
            user=_signed_in_customer(request),
        )
    except UserError as exc:
        return _error(exc)
    return JsonResponse(
        {
            "reference": ticket.reference,
            "reply_promise": _email_promise(),
            # A link to prove the address went out (docs/security/identity.md).
            "verify_link_sent": ticket.challenges.exists(),
        },
        status=201,
    )


def _signed_in_customer(request: HttpRequest) -> User | None:
    """The buyer or seller signed in on this site (the widget on our own pages sends
    the session cookie; embedded elsewhere it does not)."""
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated and user.is_customer:
        return user
    return None


def _session_for(request: HttpRequest, public_id: str) -> ChatSession | JsonResponse:
    token = request.headers.get("X-Chat-Token", "")
    if not token and "token" in request.GET:
        # Version 1 of the protocol put the token in a file's URL, where access logs and
        # browser history keep it. The widget sends the header now; the query form stays
        # for app versions already installed, for one release (IZONIE_CHAT_QUERY_TOKEN).
        if not settings.IZONIE_CHAT_QUERY_TOKEN:
            return problem_response(
                401, "token_in_url", "Send the chat token in the X-Chat-Token header."
            )
        logger.warning(
            "Deprecated: a chat token in the URL (?token=) for %s; send X-Chat-Token instead "
            "(client %s)",
            request.path,
            request.headers.get("User-Agent", "")[:120],
        )
        token = request.GET["token"]
    try:
        token_session = tokens.session_id_from(token)
    except tokens.TokenError as exc:
        return problem_response(401, exc.code, str(exc))
    if str(token_session) != str(public_id):
        return problem_response(403, "forbidden", "This token is for another conversation.")
    session = services.chat_get(public_id)
    if session is None:
        return problem_response(404, "not_found", "No such chat.")
    return session


@require_GET
def history(request: HttpRequest, public_id: str) -> JsonResponse:
    """The stream after ``after`` (a sequence number), oldest first, 500 at most."""
    session = _session_for(request, public_id)
    if isinstance(session, JsonResponse):
        return session
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return problem_response(
            400, "invalid_input", "after must be a whole number.", {"after": "invalid"}
        )
    frames = selectors.entry_frames_after(session, after)
    return JsonResponse(
        {
            "session": str(session.public_id),
            "state": session.state,
            "last_seq": session.last_seq,
            "entries": frames,
            "more": bool(frames) and frames[-1]["seq"] < session.last_seq,
        }
    )


@csrf_exempt  # authorised by the chat token header, not a cookie
@require_POST
def upload(request: HttpRequest, public_id: str) -> JsonResponse:
    """Photos and files in a chat: multipart ``files`` (+ optional ``text``) with a
    ``client_id``; stored once per client id and relayed like a typed message."""
    session = _session_for(request, public_id)
    if isinstance(session, JsonResponse):
        return session
    try:
        uploads = check_uploads(request.FILES.getlist("files"))
        if not uploads:
            return problem_response(422, "invalid_input", "Choose a file.", {"files": "required"})
        entry, created = services.chat_customer_message(
            session=session,
            client_id=request.POST.get("client_id", ""),
            text=request.POST.get("text", ""),
            uploads=uploads,
        )
    except UserError as exc:
        return _error(exc)
    return JsonResponse(
        {"client_id": entry.client_id, "seq": entry.seq, "duplicate": not created},
        status=201 if created else 200,
    )


@require_GET
def attachment(
    request: HttpRequest, public_id: str, attachment_id: int
) -> HttpResponse | FileResponse:
    session = _session_for(request, public_id)
    if isinstance(session, JsonResponse):
        return session
    item = get_object_or_404(
        Attachment.objects.select_related("message"),
        pk=attachment_id,
        kept=True,
        message__ticket_id=session.ticket_id,
        message__kind="reply",
    )
    response = FileResponse(
        item.file.open("rb"), content_type=item.content_type, filename=item.filename
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def demo_product(request: HttpRequest) -> HttpResponse:
    """A stand-in marketplace product page that embeds the widget with one script tag."""
    return render(request, "chat/demo_product.html", {"policy": get_policy()})


@agent_required
def desk(request: HttpRequest) -> HttpResponse:
    """The agents' chat desk: presence, queue, my chats, the conversation panes."""
    agent = current_user(request)
    policy = get_policy()
    return render(
        request,
        "chat/desk.html",
        {
            "presence": services.presence_for(agent),
            "teams": policy.teams,
            "time_zone": policy.calendar.time_zone,
            "ws_path": "/ws/console/chat/",
            # The agents' file URL with a placeholder id the page's script replaces.
            "attachment_url": reverse("portal:attachment", args=[ATTACHMENT_PLACEHOLDER]),
        },
    )


@agent_required
@require_GET
def visitor(request: HttpRequest, public_id: str) -> HttpResponse:
    """The desk's visitor panel for one chat (an HTML fragment)."""
    session = services.chat_get(public_id)
    if session is None:
        return problem_response(404, "not_found", "No such chat.")
    return render(request, "chat/_visitor.html", selectors.visitor_context(session=session))


@agent_required
@require_GET
def macros(request: HttpRequest, public_id: str) -> JsonResponse:
    """The console's macros with their placeholders filled for this chat's ticket: the
    desk's slash commands ("/gre" + Tab) and its macro list insert these texts."""
    session = services.chat_get(public_id)
    if session is None:
        return problem_response(404, "not_found", "No such chat.")
    rows = macros_filled_for(agent=current_user(request), ticket=session.ticket)
    return JsonResponse({"macros": rows})


@agent_required
@require_POST
def macro_used(request: HttpRequest, macro_id: int) -> JsonResponse:
    """The desk sent a message made from this macro: count the use (CSRF-protected)."""
    if not macros_services.macro_used(agent=current_user(request), macro_id=macro_id):
        return problem_response(404, "not_found", "No such macro.")
    return JsonResponse({"counted": True})


@agent_required
@require_POST
def agent_upload(request: HttpRequest, public_id: str) -> JsonResponse:
    """Photos and files an agent sends in a chat from the desk: multipart ``files``
    (+ optional ``text``) with a ``client_id``, stored once per client id and relayed
    to the customer like a typed message. Signed in by the console's cookie, so the
    CSRF token is required."""
    session = services.chat_get(public_id)
    if session is None:
        return problem_response(404, "not_found", "No such chat.")
    try:
        uploads = check_uploads(request.FILES.getlist("files"))
        if not uploads:
            return problem_response(422, "invalid_input", "Choose a file.", {"files": "required"})
        entry, created = services.chat_agent_message(
            session=session,
            agent=current_user(request),
            client_id=request.POST.get("client_id", ""),
            text=request.POST.get("text", ""),
            uploads=uploads,
        )
    except UserError as exc:
        return _error(exc)
    return JsonResponse(
        {"client_id": entry.client_id, "seq": entry.seq, "duplicate": not created},
        status=201 if created else 200,
    )
