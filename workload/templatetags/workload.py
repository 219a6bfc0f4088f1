from django import template

from workload.models import Reason

register = template.Library()


@register.filter
def reassignment_reason(value: object) -> str:
    """The label of a reassignment reason stored in an ASSIGNED event's data."""
    try:
        return str(Reason(str(value)).label)
    except ValueError:
        return ""
