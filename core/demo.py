"""Demo data for the embedded default: people, orders and a few dozen conversations
on every channel and category, created through the same services as real traffic."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from helpcenter.content import content_load
from marketplace.models import Order, Seller
from sla import services as sla_services
from sla.models import SlaClock
from tickets import services
from tickets.choices import Channel, TicketStatus
from tickets.models import Message, Ticket, TicketEvent

DEMO_PASSWORD = "izonie-demo"  # noqa: S105  (demo accounts on a local embedded install only)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    description: str


DEMO_LOGINS = [
    DemoLogin("admin", Role.ADMIN, "admin (Django admin at /admin/)"),
    DemoLogin("sam.supervisor", Role.SUPERVISOR, "supervisor"),
    DemoLogin("ada.agent", Role.AGENT, "agent, Customer Care"),
    DemoLogin("tunde.agent", Role.AGENT, "agent, Payments and Technical Support"),
    DemoLogin("ngozi.agent", Role.AGENT, "agent, Seller Team"),
    DemoLogin("chioma.buyer", Role.BUYER, "buyer"),
    DemoLogin("emeka.buyer", Role.BUYER, "buyer"),
    DemoLogin("gadgethub.seller", Role.SELLER, "seller (GadgetHub store)"),
]

_STAFF = {
    "admin": ("Ife Admin", ["supervisors"]),
    "sam.supervisor": ("Sam Okafor", ["supervisors"]),
    "ada.agent": ("Ada Eze", ["customer_care"]),
    "tunde.agent": ("Tunde Bello", ["payments", "technical"]),
    "ngozi.agent": ("Ngozi Obi", ["seller_team"]),
}
_BUYERS = [
    ("chioma.buyer", "Chioma Nwosu"),
    ("emeka.buyer", "Emeka Adeyemi"),
    ("funke.buyer", "Funke Ade"),
    ("bola.buyer", "Bola Hassan"),
    ("kelechi.buyer", "Kelechi Umeh"),
    ("zainab.buyer", "Zainab Musa"),
]
_SELLERS = [
    ("gadgethub.seller", "GadgetHub", True),
    ("phonepalace.seller", "Phone Palace", True),
    (None, "Izonie Direct", False),
]
_PRODUCTS = [
    "Samsung Galaxy A55 128 GB",
    "iPhone 15 128 GB",
    "Tecno Camon 30",
    "Infinix Note 40",
    "JBL Tune 510BT headphones",
    "Anker 20W USB-C charger",
    "Xiaomi Redmi Pad SE",
    "Oraimo FreePods 4",
]

# (category, channel, opening message, agent reply or None, final status)
_CONVERSATIONS: list[tuple[str, str, str, str | None, str]] = [
    (
        "order_status",
        Channel.WEB_FORM,
        "My order has not arrived after 9 days. The tracking page "
        "has said 'in transit' since Monday.",
        "I've checked with the courier: it reaches Lagos tomorrow and will be delivered by Friday.",
        TicketStatus.PENDING,
    ),
    (
        "order_status",
        Channel.EMAIL,
        "Hello, can you tell me when my phone will ship? I paid three days ago.",
        None,
        TicketStatus.NEW,
    ),
    (
        "order_status",
        Channel.LIVE_CHAT,
        "hi where is my order",
        "Hi! It left the warehouse this morning; you'll get an SMS when the rider is on the way.",
        TicketStatus.RESOLVED,
    ),
    (
        "order_status",
        Channel.FACEBOOK,
        "Delivery guy said he came but nobody called me!!",
        None,
        TicketStatus.OPEN,
    ),
    (
        "order_status",
        Channel.INSTAGRAM,
        "Package shows delivered but I never got it",
        "I'm sorry! I've opened an investigation with the courier; expect an update within "
        "24 hours.",
        TicketStatus.ON_HOLD,
    ),
    (
        "order_status",
        Channel.TIKTOK,
        "how long does delivery take to Abuja?",
        None,
        TicketStatus.NEW,
    ),
    (
        "payments",
        Channel.WEB_FORM,
        "My card was charged twice for the same order.",
        "You're right, there are two charges. The duplicate is refunded; it takes 3-5 working "
        "days to show on your statement.",
        TicketStatus.RESOLVED,
    ),
    (
        "payments",
        Channel.EMAIL,
        "Payment failed but money left my account. Please help.",
        None,
        TicketStatus.NEW,
    ),
    (
        "payments",
        Channel.LIVE_CHAT,
        "Why is my wallet balance 0? I had a refund coming.",
        "The refund is approved and will reach your wallet within 24 hours.",
        TicketStatus.PENDING,
    ),
    (
        "payments",
        Channel.FACEBOOK,
        "Bank transfer option not working at checkout",
        None,
        TicketStatus.OPEN,
    ),
    (
        "payments",
        Channel.TIKTOK,
        "refund still not in my account after 2 weeks",
        None,
        TicketStatus.NEW,
    ),
    (
        "technical_support",
        Channel.WEB_FORM,
        "I can't log in: the app says my password is wrong even after I reset it.",
        "Please update the app to the latest version; the reset link "
        "bug is fixed there. Let me know if it still fails.",
        TicketStatus.PENDING,
    ),
    (
        "technical_support",
        Channel.EMAIL,
        "The website shows 'Error 500' when I open my orders page.",
        None,
        TicketStatus.OPEN,
    ),
    (
        "technical_support",
        Channel.LIVE_CHAT,
        "app keeps crashing when I open the cart",
        None,
        TicketStatus.NEW,
    ),
    (
        "technical_support",
        Channel.INSTAGRAM,
        "I didn't get the OTP code to sign in",
        "Codes can take a minute; please check the number on your profile ends in 4471.",
        TicketStatus.RESOLVED,
    ),
    (
        "returns",
        Channel.WEB_FORM,
        "The phone I received has a cracked screen. I want to return it.",
        "Sorry about that! I've started the return; a courier will pick it up within "
        "2 days and the refund follows once it's checked.",
        TicketStatus.OPEN,
    ),
    (
        "returns",
        Channel.EMAIL,
        "How do I return headphones that stopped working after a week?",
        None,
        TicketStatus.NEW,
    ),
    (
        "returns",
        Channel.LIVE_CHAT,
        "wrong colour delivered, I ordered black",
        None,
        TicketStatus.OPEN,
    ),
    (
        "returns",
        Channel.FACEBOOK,
        "What is the status of my refund for the returned charger?",
        "The charger passed inspection; the refund was issued today.",
        TicketStatus.RESOLVED,
    ),
    ("returns", Channel.TIKTOK, "can I return a phone I just don't like?", None, TicketStatus.NEW),
    (
        "seller_support",
        Channel.WEB_FORM,
        "My new listing for Tecno Camon 30 is stuck in review.",
        "The listing needed a clearer main photo; it's approved now.",
        TicketStatus.RESOLVED,
    ),
    (
        "seller_support",
        Channel.EMAIL,
        "This week's payout has not arrived in my bank account.",
        None,
        TicketStatus.OPEN,
    ),
    (
        "seller_support",
        Channel.WEB_FORM,
        "How do I change the bank account for payouts?",
        None,
        TicketStatus.NEW,
    ),
    (
        "order_status",
        Channel.EMAIL,
        "Order was cancelled without explanation. Why?",
        "The seller ran out of stock; your payment was refunded in full.",
        TicketStatus.CLOSED,
    ),
    (
        "payments",
        Channel.INSTAGRAM,
        "Can I pay on delivery?",
        "Yes, for orders under NGN 200,000 in Lagos and Abuja.",
        TicketStatus.CLOSED,
    ),
    (
        "technical_support",
        Channel.FACEBOOK,
        "The search on the app shows nothing",
        None,
        TicketStatus.OPEN,
    ),
    (
        "returns",
        Channel.WEB_FORM,
        "Missing charger in the box of my new phone",
        None,
        TicketStatus.NEW,
    ),
    (
        "order_status",
        Channel.LIVE_CHAT,
        "can I change my delivery address?",
        "Yes, until the order ships. I've updated it for you.",
        TicketStatus.RESOLVED,
    ),
    (
        "payments",
        Channel.EMAIL,
        "Please send me an invoice for my order",
        None,
        TicketStatus.PENDING,
    ),
    (
        "order_status",
        Channel.WEB_FORM,
        "The seller says the item is shipped but tracking number doesn't work.",
        None,
        TicketStatus.OPEN,
    ),
    (
        "technical_support",
        Channel.TIKTOK,
        "notifications not working on android",
        None,
        TicketStatus.NEW,
    ),
    (
        "returns",
        Channel.INSTAGRAM,
        "Received a fake charger, not original!",
        None,
        TicketStatus.OPEN,
    ),
    ("", Channel.EMAIL, "Hello, I have a question about your marketplace.", None, TicketStatus.NEW),
    ("", Channel.FACEBOOK, "hello??", None, TicketStatus.NEW),
]

_CATEGORY_AGENT = {
    "order_status": "ada.agent",
    "returns": "ada.agent",
    "payments": "tunde.agent",
    "technical_support": "tunde.agent",
    "seller_support": "ngozi.agent",
}


def demo_exists() -> bool:
    return User.objects.filter(username="sam.supervisor").exists()


def _user(username: str, name: str, role: str, teams: list[str] | None = None) -> User:
    first, _, last = name.partition(" ")
    user = User.objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=DEMO_PASSWORD,
        first_name=first,
        last_name=last,
        display_name=name,
        role=role,
        teams=teams or [],
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    return user


def _backdate(ticket: Ticket, opened_at: dt.datetime) -> None:
    """Spread demo conversations over the last weeks, keeping their order of events."""
    shift = timezone.now() - opened_at
    for message in ticket.messages.all():
        Message.objects.filter(pk=message.pk).update(created_at=message.created_at - shift)
    for event in ticket.events.all():
        TicketEvent.objects.filter(pk=event.pk).update(created_at=event.created_at - shift)
    for clock in SlaClock.objects.filter(ticket=ticket).select_related("ticket"):
        sla_services.clock_shift(clock=clock, by=-shift)
    ticket.refresh_from_db()
    updates: dict[str, dt.datetime | None] = {
        "created_at": ticket.created_at - shift,
        "updated_at": ticket.updated_at - shift,
    }
    for field in ("first_replied_at", "resolved_at", "closed_at"):
        value = getattr(ticket, field)
        updates[field] = value - shift if value else None
    Ticket.objects.filter(pk=ticket.pk).update(**updates)


@transaction.atomic
def seed_demo(*, progress: Callable[[str], None] = lambda _: None) -> None:
    rng = random.Random(20261125)
    staff = {
        u: _user(
            u,
            n,
            Role.ADMIN if u == "admin" else Role.SUPERVISOR if "supervisor" in u else Role.AGENT,
            t,
        )
        for u, (n, t) in _STAFF.items()
    }
    progress(f"{len(staff)} support staff")
    buyers = [_user(u, n, Role.BUYER) for u, n in _BUYERS]
    sellers: list[Seller] = []
    seller_users: list[User] = []
    for username, store, third_party in _SELLERS:
        seller_user = _user(username, store, Role.SELLER) if username else None
        if seller_user:
            seller_users.append(seller_user)
        sellers.append(
            Seller.objects.create(
                store_name=store,
                user=seller_user,
                third_party=third_party,
                support_email=f"{store.lower().replace(' ', '')}@sellers.izonie.example",
            )
        )
    progress(f"{len(buyers)} buyers, {len(sellers)} sellers")
    now = timezone.now()
    orders: dict[int, list[Order]] = {buyer.pk: [] for buyer in buyers}
    for index in range(36):
        buyer = buyers[index % len(buyers)]
        placed = now - dt.timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23))
        delivered = placed + dt.timedelta(days=rng.randint(2, 6))
        status = rng.choice(list(Order.Status)) if delivered > now else Order.Status.DELIVERED
        order = Order.objects.create(
            number=f"IZ-{20461100 + index:08d}",
            buyer=buyer,
            seller=sellers[index % len(sellers)],
            status=status,
            items=[rng.choice(_PRODUCTS)],
            total_minor=rng.randint(15, 900) * 1000_00,
            placed_at=placed,
            delivered_at=delivered if status == Order.Status.DELIVERED else None,
        )
        orders[buyer.pk].append(order)
    progress("36 orders")
    for index, (category, channel, body, reply, final_status) in enumerate(_CONVERSATIONS):
        if category == "seller_support":
            requester = seller_users[index % len(seller_users)]
        else:
            requester = buyers[index % len(buyers)]
        needs_order = category and requester.role == Role.BUYER and category != "technical_support"
        order_number = orders[requester.pk][0].number if needs_order else ""
        ticket = services.ticket_open(
            requester=requester,
            channel=channel,
            body=body,
            category=category,
            order_number=order_number,
        )
        agent = staff[_CATEGORY_AGENT.get(category, "ada.agent")]
        if reply:
            services.ticket_reply(ticket=ticket, author=agent, body=reply)
            # Historic replies were delivered when they were written.
            from tickets.models import OutboundMessage

            OutboundMessage.objects.filter(message__ticket=ticket).update(
                status="sent", sent_at=timezone.now(), attempts=1
            )
        if index % 5 == 0:
            services.ticket_add_note(
                ticket=ticket,
                author=agent,
                body="Checked the order history; nothing unusual on the account.",
            )
        if final_status != ticket.status:
            services.ticket_update(ticket=ticket, actor=agent, status=final_status)
        # Answered conversations spread over three weeks; unanswered ones are recent, so
        # the "Breaching soon" board shows clocks on time, warning and breached.
        if reply:
            opened = now - dt.timedelta(hours=rng.randint(1, 24 * 21))
        else:
            opened = now - dt.timedelta(minutes=rng.randint(3, 30 * 60))
        _backdate(ticket, opened)
    progress(f"{len(_CONVERSATIONS)} conversations on every channel and category")
    from chat.demo import seed_chat_demo

    progress(seed_chat_demo(staff=list(staff.values())))
    from triage.demo import seed_triage_demo

    seed_triage_demo(
        buyers=buyers, order_number_of=lambda b: orders[b.pk][0].number, progress=progress
    )
    from conduct.demo import seed_conduct_demo

    seed_conduct_demo(buyers=buyers, agent=staff["ada.agent"], progress=progress)
    from disputes.demo import seed_disputes_demo

    seed_disputes_demo(buyers=buyers, agent=staff["ada.agent"], progress=progress)
    loaded = content_load()
    progress(f"{len(loaded.created) + len(loaded.updated)} Help Center articles")
    from social.demo import seed_social_demo

    seed_social_demo(progress=progress)
    from macros.demo import seed_macros_demo

    seed_macros_demo(progress=progress)
    from reports.demo import seed_reports_demo

    seed_reports_demo(progress=progress)
