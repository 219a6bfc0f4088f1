"""The chat's HTTP endpoints: status from the policy, offline messages, REST history,
uploads and files behind the resume token, the system's notices in the stream."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import services, tokens
from chat.models import AgentPresence, ChatEntry, SessionState
from chat.tests.conftest import CLOSED_MOMENT
from conftest import png_bytes
from sla.models import Escalation
from tickets.choices import Channel
from tickets.models import Message

pytestmark = pytest.mark.django_db


def open_chat(**overrides) -> services.ChatSession:
    request = services.StartRequest(
        name=overrides.pop("name", "Ada Obi"),
        email=overrides.pop("email", "ada@example.com"),
        category=overrides.pop("category", "returns"),
        text=overrides.pop("text", "The screen arrived cracked"),
        client_id=overrides.pop("client_id", "start-0001"),
    )
    session, _ = services.chat_start(request=request)
    return session


def test_status_reports_hours_categories_and_limits_from_the_policy(client, clock, online_agent):
    online_agent()
    data = client.get("/chat/status").json()
    assert data["open_now"] is True and data["can_start"] is True and data["reason"] == "open"
    assert data["time_zone"] == "Africa/Lagos"
    assert data["hours"] == ["Monday – Saturday, 08:00 – 20:00"]
    assert [c["name"] for c in data["categories"]] == [
        "Order Status",
        "Payments",
        "Technical Support",
        "Returns",
        "Seller Support",
    ]
    assert data["order_number"]["example"].startswith("IZ-")
    assert data["attachments"]["max_bytes"] == 10 * 1024 * 1024

    clock(CLOSED_MOMENT)
    closed = client.get("/chat/status").json()
    assert closed["open_now"] is False and closed["reason"] == "closed"
    assert dt.datetime.fromisoformat(closed["next_open_at"]) == dt.datetime(
        2026, 11, 24, 7, 0, tzinfo=dt.UTC
    )


def test_open_hours_without_an_online_agent_is_offline_mode(client, clock):
    data = client.get("/chat/status").json()
    assert data["open_now"] is True and data["can_start"] is False
    assert data["reason"] == "no_agents"


def test_the_pulse_tells_waiting_widgets_when_a_chat_can_start(
    client, clock, monkeypatch, django_capture_on_commit_callbacks
):
    """Shared for PULSE_SECONDS (one count query for every widget polling it); an agent
    going online through this process is seen at once, one elsewhere within that time."""
    from accounts.tests.factories import AgentFactory
    from chat import availability

    response = client.get("/chat/status/pulse")
    assert response.json() == {"can_start": False, "reason": "no_agents"}
    assert response["Cache-Control"] == "public, max-age=2"

    with django_capture_on_commit_callbacks(execute=True):
        services.presence_set(agent=AgentFactory(), status="online")
    assert client.get("/chat/status/pulse").json() == {"can_start": True, "reason": "open"}

    # Another process's agents are counted when the shared answer expires.
    services.presence_set(agent=AgentPresence.objects.get().agent, status="offline")
    availability.forget_pulse()
    assert client.get("/chat/status/pulse").json()["can_start"] is False
    AgentPresence.objects.update(status="online", last_seen_at=dt.datetime.now(dt.UTC))
    assert client.get("/chat/status/pulse").json()["can_start"] is False  # still shared
    monkeypatch.setattr(availability, "PULSE_SECONDS", 0.0)
    assert client.get("/chat/status/pulse").json()["can_start"] is True


def test_an_offline_message_becomes_an_email_ticket_under_the_email_target(client, clock):
    clock(CLOSED_MOMENT)
    response = client.post(
        "/chat/offline-message",
        {
            "name": "Chidi",
            "email": "chidi@example.com",
            "category": "payments",
            "text": "I was charged twice for IZ order",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    reference = response.json()["reference"]
    assert "24 hours" in response.json()["reply_promise"]
    message = Message.objects.get(body_text="I was charged twice for IZ order")
    ticket = message.ticket
    assert ticket.reference == reference and ticket.channel == Channel.EMAIL
    assert ticket.requester.email == "chidi@example.com"
    assert ticket.sla_clocks.filter(target_id="email_first_reply").exists()


def test_an_offline_message_with_bad_fields_names_them(client):
    response = client.post(
        "/chat/offline-message",
        {"name": "", "email": "nope", "category": "payments", "text": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"email": "Enter a valid email address."}
    broken = client.post("/chat/offline-message", "{oops", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_json"
    assert not Message.objects.exists()


def test_history_needs_the_sessions_own_token(client, clock, online_agent):
    online_agent()
    session = open_chat()
    other = open_chat(email="someone@example.com", client_id="start-0002")
    url = f"/chat/sessions/{session.public_id}/history"

    assert client.get(url).status_code == 401
    forged = client.get(url, headers={"X-Chat-Token": "abc"})
    assert forged.status_code == 401 and forged.json()["code"] == "token_invalid"
    wrong = client.get(url, headers={"X-Chat-Token": tokens.token_for(other.public_id)})
    assert wrong.status_code == 403

    token = tokens.token_for(session.public_id)
    data = client.get(url, headers={"X-Chat-Token": token}).json()
    # The customer's first message, then the system's request for the order number.
    assert data["last_seq"] == 2 and data["state"] == SessionState.ASSIGNED
    entries = [(e["seq"], e["sender"], e["text"]) for e in data["entries"]]
    assert entries[0] == (1, "customer", "The screen arrived cracked")
    assert entries[1][:2] == (2, "system") and "order number" in entries[1][2]
    assert client.get(f"{url}?after=2", headers={"X-Chat-Token": token}).json()["entries"] == []
    bad = client.get(f"{url}?after=x", headers={"X-Chat-Token": token})
    assert bad.status_code == 400


def test_a_photo_upload_is_stored_once_and_served_only_with_the_token(client, clock, online_agent):
    online_agent()
    session = open_chat()
    token = tokens.token_for(session.public_id)
    url = f"/chat/sessions/{session.public_id}/uploads"

    def post():
        photo = SimpleUploadedFile("crack.png", png_bytes(), content_type="image/png")
        return client.post(
            url,
            {"files": [photo], "client_id": "upload-0001", "text": "Here"},
            headers={"X-Chat-Token": token},
        )

    first, again = post(), post()
    # (after the start and the request for the order number)
    assert first.status_code == 201 and first.json()["seq"] == 3
    assert again.status_code == 200 and again.json() == {
        "client_id": "upload-0001",
        "seq": 3,
        "duplicate": True,
    }
    entry = ChatEntry.objects.get(session=session, seq=3)
    attachment = entry.message.attachments.get()
    file_url = f"/chat/sessions/{session.public_id}/attachments/{attachment.pk}"
    assert client.get(file_url).status_code == 401
    served = client.get(file_url, headers={"X-Chat-Token": token})
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png_bytes()


def test_a_disguised_or_oversized_upload_is_refused_with_the_reason(client, clock, online_agent):
    online_agent()
    session = open_chat()
    token = tokens.token_for(session.public_id)
    url = f"/chat/sessions/{session.public_id}/uploads"
    script = SimpleUploadedFile("photo.jpg", b"#!/bin/sh\nrm -rf /\n", content_type="image/jpeg")
    refused = client.post(
        url, {"files": [script], "client_id": "upload-0002"}, headers={"X-Chat-Token": token}
    )
    assert refused.status_code == 422 and refused.json()["fields"]["attachments"]
    big = SimpleUploadedFile("big.png", png_bytes() + b"\0" * (10 * 1024 * 1024))
    too_big = client.post(
        url, {"files": [big], "client_id": "upload-0003"}, headers={"X-Chat-Token": token}
    )
    assert too_big.status_code == 422 and "limit" in too_big.json()["detail"]
    assert not ChatEntry.objects.filter(session=session, sender="customer", seq__gt=1).exists()


def test_escalating_in_chat_opens_an_escalation_and_the_notice_joins_the_stream(
    clock, online_agent, run_tasks, django_capture_on_commit_callbacks
):
    online_agent()
    session = open_chat()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.chat_escalate(session=session) is True
        assert services.chat_escalate(session=session) is False
    run_tasks()
    escalation = Escalation.objects.get(ticket=session.ticket)
    assert escalation.channel == Channel.LIVE_CHAT
    # (after the opening request for an order number)
    notice = ChatEntry.objects.get(session=session, text__contains="escalated to a supervisor")
    assert notice.sender == "system" and notice.seq > 1
    assert "48 hours" in notice.text


def test_a_reply_after_the_chat_ended_goes_to_the_customers_email(
    clock, online_agent, run_tasks, django_capture_on_commit_callbacks
):
    from tickets import services as ticket_services

    agent = online_agent()
    session = open_chat()
    services.chat_accept(session=session, agent=agent)
    services.chat_end(session=session, by=session.customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.ticket_reply(
            ticket=session.ticket, author=agent, body="Following up: your refund is on its way."
        )
    run_tasks()
    # (the outbox also holds the chat's opening request for an order number)
    follow_ups = [m for m in mail.outbox if "refund is on its way" in m.body]
    assert [m.to for m in follow_ups] == [["ada@example.com"]]
    assert not ChatEntry.objects.filter(text__contains="refund is on its way").exists()


def test_the_transcript_is_emailed_in_the_teams_time_zone(
    clock, online_agent, run_tasks, django_capture_on_commit_callbacks
):
    agent = online_agent()
    session = open_chat()
    services.chat_accept(session=session, agent=agent)
    services.chat_agent_message(
        session=session, agent=agent, client_id="agent-0001", text="Sorry about the screen!"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.chat_transcript_request(session=session) == "ada@example.com"
    run_tasks()
    (sent,) = mail.outbox
    assert sent.to == ["ada@example.com"] and session.ticket.reference in sent.subject
    assert "Africa/Lagos" in sent.body
    assert "Ada Obi: The screen arrived cracked" in sent.body
    assert "Sorry about the screen!" in sent.body


def _agent_upload(client, session, *, client_id="desk-0001", name="label.png", data=None):
    photo = SimpleUploadedFile(name, data or png_bytes(), content_type="image/png")
    return client.post(
        f"/console/chat/sessions/{session.public_id}/uploads",
        {"files": [photo], "client_id": client_id, "text": "Your return label"},
    )


def test_an_agent_sends_a_photo_from_the_desk_once_and_the_customer_can_open_it(
    client, clock, online_agent
):
    agent = online_agent()
    session = open_chat()
    services.chat_accept(session=session, agent=agent)
    client.force_login(agent)

    first, again = _agent_upload(client, session), _agent_upload(client, session)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["seq"] == first.json()["seq"]
    entry = ChatEntry.objects.get(session=session, seq=first.json()["seq"])
    assert entry.sender == "agent" and entry.text == "Your return label"
    attachment = entry.message.attachments.get()
    assert entry.message.direction == "out"
    token = tokens.token_for(session.public_id)
    served = client.get(
        f"/chat/sessions/{session.public_id}/attachments/{attachment.pk}",
        headers={"X-Chat-Token": token},
    )
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == png_bytes()


def test_a_token_in_the_url_is_deprecated_logged_and_can_be_turned_off(
    client, clock, online_agent, photo, settings, caplog
):
    online_agent()
    session = open_chat()
    token = tokens.token_for(session.public_id)
    posted = client.post(
        f"/chat/sessions/{session.public_id}/uploads",
        {"files": [photo()], "client_id": "upload-0009"},
        headers={"X-Chat-Token": token},
    )
    attachment = ChatEntry.objects.get(
        session=session, seq=posted.json()["seq"]
    ).message.attachments.get()
    file_url = f"/chat/sessions/{session.public_id}/attachments/{attachment.pk}"
    # Still served for app versions already installed, with a warning that names no token.
    with caplog.at_level("WARNING", logger="chat.views"):
        old = client.get(f"{file_url}?token={token}")
    assert old.status_code == 200
    [warning] = [r for r in caplog.records if r.name == "chat.views"]
    assert "Deprecated" in warning.getMessage() and token not in warning.getMessage()
    # Turned off: a clear refusal saying what to do instead; the header still works.
    settings.IZONIE_CHAT_QUERY_TOKEN = False
    refused = client.get(f"{file_url}?token={token}")
    assert refused.status_code == 401 and refused.json()["code"] == "token_in_url"
    assert client.get(file_url, headers={"X-Chat-Token": token}).status_code == 200


def test_only_the_agent_handling_the_chat_may_send_files(client, clock, online_agent):
    handler, other = online_agent(), online_agent()
    session = open_chat()
    services.chat_accept(session=session, agent=handler)
    client.force_login(other)
    refused = _agent_upload(client, session)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    client.force_login(session.customer)
    assert _agent_upload(client, session).status_code in (302, 403)
    assert not ChatEntry.objects.filter(session=session, sender="agent").exists()


def test_an_agent_upload_before_accepting_or_of_a_forbidden_type_is_refused(
    client, clock, online_agent
):
    agent = online_agent()
    session = open_chat()
    client.force_login(agent)
    not_yet = _agent_upload(client, session)
    assert not_yet.status_code == 422 and "Accept the chat" in not_yet.json()["detail"]
    services.chat_accept(session=session, agent=agent)
    script = _agent_upload(client, session, client_id="desk-0002", data=b"MZ\x90\x00 not a png")
    assert script.status_code == 422 and script.json()["fields"]["attachments"]
    missing = client.post(
        f"/console/chat/sessions/{session.public_id}/uploads", {"client_id": "desk-0003"}
    )
    assert missing.status_code == 422 and missing.json()["fields"] == {"files": "required"}
    assert not ChatEntry.objects.filter(session=session, sender="agent").exists()


def test_the_desk_upload_needs_the_csrf_token(clock, online_agent):
    from django.test import Client

    agent = online_agent()
    session = open_chat()
    services.chat_accept(session=session, agent=agent)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    assert _agent_upload(strict, session).status_code == 403
    assert not ChatEntry.objects.filter(session=session, sender="agent").exists()
