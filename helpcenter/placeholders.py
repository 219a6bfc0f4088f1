"""Policy facts inside article text: ``{{ policy.response.email_first_reply }}``.

Articles never type a response time, an opening hour or the escalation window: they name
the fact, and it is read from the loaded policy each time the article is rendered, so the
Help Center says what the engine enforces.
"""

from __future__ import annotations

import re

from policy.schema import SupportPolicy
from policy.selectors import hours_sentences, published_promises

PLACEHOLDER_RE = re.compile(r"\{\{\s*policy\.([a-z0-9_.]+)\s*\}\}")


class UnknownPlaceholder(ValueError):
    def __init__(self, names: list[str]):
        self.names = names
        super().__init__("unknown policy placeholder(s): " + ", ".join(names))


def _join(sentences: list[str]) -> str:
    return "; ".join(sentences)


def policy_facts(policy: SupportPolicy) -> dict[str, str]:
    """Every fact an article may name, by placeholder name."""
    facts: dict[str, str] = {
        "organisation": policy.organisation.name,
        "website": policy.organisation.website,
        "time_zone": policy.calendar.time_zone,
        "business_hours": _join(hours_sentences(policy.calendar.weekly_hours)),
        "escalation.contact_within": str(policy.escalation.contact_within),
        "escalation.request_label": policy.escalation.request_label,
        "order_number.example": policy.order_numbers.example,
        "attachments.max_mb": f"{policy.attachments.max_bytes / (1024 * 1024):g} MB",
        "attachments.max_per_message": str(policy.attachments.max_per_message),
        "feedback.rating_window": str(policy.feedback.rating_window),
        "feedback.scale": f"{policy.feedback.scale_min} to {policy.feedback.scale_max}",
    }
    for promise in published_promises(policy):
        span = promise.span + (" during business hours" if promise.during_business_hours else "")
        facts[f"response.{promise.id}"] = span
    for key, channel in policy.channels.items():
        if not channel.published:
            continue
        facts[f"channel.{key}.name"] = channel.name
        facts[f"hours.{key}"] = _join(hours_sentences(channel.hours))
        for attribute in ("address", "url", "handle"):
            value = getattr(channel, attribute)
            if value:
                facts[f"channel.{key}.{attribute}"] = value
    for category in policy.categories:
        facts[f"category.{category.key}.name"] = category.name
    return facts


def unknown_placeholders(text: str, policy: SupportPolicy) -> list[str]:
    facts = policy_facts(policy)
    return sorted({name for name in PLACEHOLDER_RE.findall(text) if name not in facts})


def expand_placeholders(text: str, policy: SupportPolicy) -> str:
    """Replace each placeholder by its fact; an unknown name is left visible, not guessed.

    Content loading and the admin refuse unknown names (``unknown_placeholders``), so one
    can only appear here when a policy file drops a fact an article still uses.
    """
    facts = policy_facts(policy)

    def replace(match: re.Match[str]) -> str:
        return facts.get(match.group(1), match.group(0))

    return PLACEHOLDER_RE.sub(replace, text)
