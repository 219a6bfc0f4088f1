from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_control

from accounts.decorators import current_user
from helpcenter import selectors as helpcenter_selectors
from policy import selectors as policy_selectors
from policy.loader import get_policy
from policy.schema import ChannelKind
from tickets import selectors as ticket_selectors

# How many of a signed-in customer's requests the home page lists.
HOME_RECENT_REQUESTS = 3


def home(request: HttpRequest) -> HttpResponse:
    """The customers' front door: Help Center search and topics, whether live chat is
    open (and its hours), their latest requests, and every published way to reach us;
    every fact comes from the policy file or the Help Center."""
    user = request.user
    if user.is_authenticated and getattr(user, "is_agent", False):
        return redirect("console:inbox")
    policy = get_policy()
    now = timezone.now()
    cards = policy_selectors.channel_cards(policy)
    chat = next((c for c in cards if c.channel.kind == ChannelKind.LIVE_CHAT), None)
    recent = None
    if user.is_authenticated:
        recent = list(
            ticket_selectors.tickets_visible_to(current_user(request)).order_by(
                "-updated_at", "-id"
            )[:HOME_RECENT_REQUESTS]
        )
    return render(
        request,
        "core/home.html",
        {
            "policy": policy,
            "sections": helpcenter_selectors.section_list(locale=settings.LANGUAGE_CODE),
            "chat": chat,
            "chat_status": (
                policy_selectors.chat_status(policy, now, chat.key) if chat is not None else None
            ),
            "team_zone_name": policy.calendar.time_zone,
            "contact_cards": [c for c in cards if c.channel.kind != ChannelKind.LIVE_CHAT],
            "recent": recent,
        },
    )


def health(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


FAVICON = settings.BASE_DIR / "static" / "img" / "favicon.ico"


@cache_control(max_age=24 * 3600, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers and feed readers ask for whatever the page links."""
    return HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
