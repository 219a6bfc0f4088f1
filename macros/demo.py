"""Shared macros for the demo: what a Customer Care team writes every day."""

from __future__ import annotations

from collections.abc import Callable

from macros.models import Macro

DEMO_MACROS = [
    {
        "title": "Greeting",
        "shortcut": "greeting",
        "body": "Hello {{ customer.first_name }}, thank you for contacting "
        "{{ policy.organisation }} Support. I'm {{ agent.first_name }}. How can I help?",
    },
    {
        "title": "Ask for the order number",
        "shortcut": "order-number",
        "body": "Hello {{ customer.first_name }},\n\nThank you for contacting "
        "{{ policy.organisation }} Support. Could you reply with your order number? It looks like "
        "{{ policy.order_number.example }} and is in your order confirmation.\n\n"
        "{{ agent.first_name }}",
        "set_status": "pending",
    },
    {
        "title": "Ask for photos",
        "shortcut": "photos",
        "body": "Could you send a photo of the item and its packaging? Up to "
        "{{ policy.attachments.max_per_message }} photos of "
        "{{ policy.attachments.max_mb }} each.",
    },
    {
        "title": "Refund on its way",
        "shortcut": "refund",
        "body": "Hello {{ customer.first_name }},\n\nThe refund for order {{ order.number }} has "
        "been approved and is on its way to your original payment method. We will keep "
        "{{ ticket.reference }} open until you confirm it arrived.\n\n{{ agent.first_name }}",
        "set_status": "pending",
        "add_tags": "refund",
    },
    {
        "title": "Return window",
        "shortcut": "return-window",
        "body": "Hello {{ customer.first_name }},\n\nSellers accept returns within the return "
        "window from the delivery date. If your order was delivered today, the last day to "
        "ask for a return is {{ return.deadline }}.\n\n{{ agent.first_name }}",
    },
    {
        "title": "Solved: glad to help",
        "shortcut": "solved",
        "body": "Hello {{ customer.first_name }},\n\nI am glad this is sorted. You will get a "
        "short survey about {{ ticket.reference }}; your answer helps us improve.\n\n"
        "{{ agent.first_name }}",
        "set_status": "resolved",
    },
    {
        "title": "Anything else?",
        "shortcut": "closing",
        "body": "Is there anything else I can help you with today, {{ customer.first_name }}?",
    },
]


def seed_macros_demo(*, progress: Callable[[str], None]) -> None:
    for fields in DEMO_MACROS:
        Macro.objects.get_or_create(title=fields["title"], owner=None, defaults=fields)
    progress(f"{len(DEMO_MACROS)} shared macros")
