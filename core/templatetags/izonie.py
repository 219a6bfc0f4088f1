"""Template helpers: times in the support team's zone, with the viewer's zone added by JS."""

from __future__ import annotations

import datetime as dt

from django import template
from django.conf import settings
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from policy.loader import get_policy

register = template.Library()


@register.simple_tag
def team_time(
    value: dt.datetime | None, fmt: str = "D j M Y, H:i", compact: bool = False
) -> SafeString | str:
    """``<time>`` in the team's time zone; static/js/localtime.js adds the viewer's own
    unless ``compact`` (dense tables, where the page says which zone it uses)."""
    if value is None:
        return ""
    policy = get_policy()
    local = value.astimezone(policy.calendar.zone)
    abbreviation = local.strftime("%Z")
    if compact:
        return format_html(
            '<time datetime="{}" title="{}">{} {}</time>',
            value.isoformat(),
            policy.calendar.time_zone,
            date_format(local, fmt),
            abbreviation,
        )
    return format_html(
        '<time datetime="{}" data-localtime title="{}">{} {}</time>',
        value.isoformat(),
        policy.calendar.time_zone,
        date_format(local, fmt),
        abbreviation,
    )


@register.filter
def category_name(key: str) -> str:
    if not key:
        return "Uncategorised"
    try:
        return get_policy().category(key).name
    except KeyError:
        return key


@register.filter
def team_name(key: str) -> str:
    for team in get_policy().teams:
        if team.key == key:
            return team.name
    return key or "No team"


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key, "")


@register.filter
def target_title(target_id: str) -> str:
    try:
        return get_policy().target(target_id).title
    except KeyError:
        return target_id


@register.simple_tag
def public_url() -> str:
    """IZONIE_PUBLIC_URL without a trailing slash: the base of links in emails, rather
    than the Host header of whichever request caused the email."""
    return str(settings.IZONIE_PUBLIC_URL).rstrip("/")
