"""The widget's offline message says where it came from; the transcript names and
links files and says "transferred" as the chat did."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import AgentFactory, BuyerFactory
from chat import services
from chat.models import OfflineMessage
from chat.tests.test_desk import accepted
from chat.transcript import transcript_text
from conftest import png_bytes
from tickets.attachments import check_uploads
from tickets.choices import Channel, EventKind, SubChannel
from tickets.services import ticket_customer_message, ticket_open, ticket_reply

pytestmark = pytest.mark.django_db


def test_an_offline_message_is_marked_as_left_with_the_chat_widget(client, clock):
    response = client.post(
        "/chat/offline-message",
        {
            "name": "Chidi",
            "email": "chidi@example.com",
            "category": "payments",
            "text": "I was charged twice",
            "page_url": "https://izonie.example/p/x12",
            "referrer": "javascript:void(0)",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    offline = OfflineMessage.objects.select_related("ticket").get()
    # Answered by email as before; marked so agents know it came from the widget.
    assert offline.ticket.channel == Channel.EMAIL
    assert list(offline.ticket.tags.values_list("name", flat=True)) == ["live-chat-offline"]
    # Its history says who tagged it: the system, no agent.
    history = offline.ticket.events.filter(kind=EventKind.TAGS_CHANGED).get()
    assert history.actor is None and history.data["added"] == ["live-chat-offline"]
    assert offline.page_url == "https://izonie.example/p/x12" and offline.referrer == ""
    assert offline.ticket.sub_channel == SubChannel.CHAT_OFFLINE


def test_agents_see_and_filter_offline_messages_as_their_own_sub_channel(client, clock):
    """Listed as "Live chat, offline message" with the page it was left on, filtered on
    its own, and answered by email like any email ticket."""
    client.post(
        "/chat/offline-message",
        {
            "name": "Chidi",
            "email": "chidi@example.com",
            "category": "payments",
            "text": "I was charged twice for the X12",
            "page_url": "https://izonie.example/p/x12",
        },
        content_type="application/json",
    )
    offline = OfflineMessage.objects.select_related("ticket").get()
    mailed = ticket_open(
        requester=BuyerFactory(), channel=Channel.EMAIL, body="Plain email", category="payments"
    )
    agent = AgentFactory()
    client.force_login(agent)

    inbox = client.get("/console/", {"view": "open"}).content.decode()
    assert "Live chat, offline message" in inbox
    filter_html = client.get("/console/").content.decode()
    assert '<option value="chat_offline"' in filter_html

    only = client.get("/console/", {"view": "open", "channel": "chat_offline"}).content.decode()
    assert offline.ticket.reference in only and mailed.reference not in only

    page = client.get(f"/console/tickets/{offline.ticket.pk}/").content.decode()
    assert "Live chat, offline message" in page
    assert 'href="https://izonie.example/p/x12"' in page

    # The agent's answer goes by email, as for any email ticket.
    reply = ticket_reply(ticket=offline.ticket, author=agent, body="Refunded.", status=None)
    assert reply.channel == Channel.EMAIL
    assert reply.outbound.channel == Channel.EMAIL


def _thread_meta(page: str) -> list[str]:
    """The byline of each message in a thread, tags dropped, whitespace collapsed."""
    thread = page.split('<ol class="thread">', 1)[1].split("</ol>", 1)[0]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", meta).split())
        for meta in re.findall(r'<p class="meta">(.*?)</p>', thread, flags=re.S)
    ]


def test_the_widget_message_reads_live_chat_offline_in_both_threads(client, clock):
    """In the thread, the message left with the widget says where it was left; the
    email reply to it and the customer's email answer say email."""
    client.post(
        "/chat/offline-message",
        {"name": "Chidi", "email": "chidi@example.com", "category": "payments", "text": "Hi"},
        content_type="application/json",
    )
    ticket = OfflineMessage.objects.select_related("ticket__requester").get().ticket
    agent = AgentFactory()
    ticket_reply(ticket=ticket, author=agent, body="Refunded.", status=None)
    ticket_customer_message(
        ticket=ticket, author=ticket.requester, body="Thanks!", channel=Channel.EMAIL
    )

    client.force_login(agent)
    console = _thread_meta(client.get(f"/console/tickets/{ticket.pk}/").content.decode())
    # The widget's message, the acknowledgement, the agent's reply, the customer's answer.
    assert len(console) == 4
    assert console[0].startswith("Chidi · customer · Live chat, offline message ·")
    assert f"{agent} · reply · Email ·" in console[2]
    assert console[3].startswith("Chidi · customer · Email ·")
    assert not any("offline" in meta for meta in console[1:])

    client.force_login(ticket.requester)
    response = client.get(f"/requests/{ticket.pk}/")
    assert response.status_code == 200
    portal = _thread_meta(response.content.decode())
    assert len(portal) == 4
    assert portal[0].startswith("You · Live chat, offline message ·")
    assert not any("offline" in meta for meta in portal[1:])


def test_the_transcript_names_and_links_photos_and_says_transferred(clock, online_agent, settings):
    settings.IZONIE_PUBLIC_URL = "https://support.izonie.example"
    first = online_agent()
    session = accepted(first, 1)
    photo = SimpleUploadedFile("crack.png", png_bytes((20, 20)), content_type="image/png")
    services.chat_customer_message(
        session=session, client_id="photo-0001", text="", uploads=check_uploads([photo])
    )
    second = online_agent()
    services.chat_transfer(session=session, by=first, to_agent=second)
    text = transcript_text(session)
    name = first.display_name or str(first)
    assert f"{name} transferred you to a colleague." in text
    assert f"{name} left the chat." not in text
    line = next(line for line in text.splitlines() if "crack.png" in line)
    assert line.strip().startswith("Photo: crack.png (")
    assert "https://support.izonie.example/attachments/" in line
    assert f"https://support.izonie.example/requests/{session.ticket_id}/" in text
