"""Every page and API endpoint, as every role: allowed or denied, as the table says.

Adding a URL without a row here fails ``test_every_url_is_in_the_table``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.tests.factories import (
    AdminFactory,
    AgentFactory,
    BuyerFactory,
    SellerUserFactory,
    SupervisorFactory,
)
from conftest import png_bytes
from helpcenter.models import ArticleImage
from helpcenter.tests.factories import make_article
from tickets import services
from tickets.attachments import check_uploads
from tickets.choices import Channel
from tickets.escalation import escalation_request
from tickets.tests.factories import TicketFactory

# Who may open what is decided by the views' decorators and checks, the same on every
# engine; the table's 800 requests run on SQLite only (it was the slowest file of the
# PostgreSQL run). The views' queries have their own tests on both engines.
pytestmark = pytest.mark.engine_neutral

ROLES = ["anonymous", "owner", "other_buyer", "seller", "agent", "supervisor", "admin"]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # formatted with the world's ids
    expected: tuple[int, ...]  # status per role, in ROLES order
    body: dict | None = None
    json_body: bool = False
    # Anonymous GETs answered with 302 go to the sign-in page, unless this says otherwise.
    anonymous_to_login: bool = True


NO_SESSION = "6f1c2a9e-0000-4000-8000-000000000000"
L = 302  # redirect (to the sign-in page, or onwards after a POST)

TABLE: dict[str, Row] = {
    "core:home": Row("GET", "/", (200, 200, 200, 200, 302, 302, 302)),
    "core:health": Row("GET", "/healthz", (200,) * 7),
    "core:favicon": Row("GET", "/favicon.ico", (200,) * 7),
    # For load balancers and Prometheus on this machine (the test client is 127.0.0.1;
    # from elsewhere /metrics needs its token: monitoring/tests).
    "monitoring:ready": Row("GET", "/readyz", (200,) * 7),
    "monitoring:metrics": Row("GET", "/metrics", (200,) * 7),
    # An emailed link is its own credential: an unknown or forged one is a 400 for anyone.
    "identity:verify_link": Row("GET", "/verify/999999/forged-token", (400,) * 7),
    "policy:support_policy": Row("GET", "/support-policy", (200,) * 7),
    "login": Row("GET", "/accounts/login/", (200,) * 7),
    "logout": Row("POST", "/accounts/logout/", (L,) * 7),
    # Choosing a password by email: open to everyone (the emailed link is the credential).
    # The support team's second factor; without a device yet, verifying sends to set-up.
    "accounts:two_factor_setup": Row(
        "GET", "/accounts/two-factor/", (L, 403, 403, 403, 200, 200, 200)
    ),
    "accounts:two_factor_verify": Row(
        "GET", "/accounts/two-factor/verify/", (L, 403, 403, 403, L, L, L)
    ),
    "password_reset": Row("GET", "/accounts/password/", (200,) * 7),
    "password_reset_done": Row("GET", "/accounts/password/sent/", (200,) * 7),
    "password_reset_confirm": Row("GET", "/accounts/password/MQ/bad-token/", (200,) * 7),
    "password_reset_complete": Row("GET", "/accounts/password/done/", (200,) * 7),
    "portal:contact": Row("GET", "/contact", (200, 200, 200, 200, L, L, L)),
    # Without a request just opened, the thank-you page sends everyone to the form.
    "portal:thanks": Row("GET", "/contact/thanks", (L,) * 7, anonymous_to_login=False),
    "portal:requests": Row("GET", "/requests/", (L, 200, 200, 200, 403, 403, 403)),
    "portal:request": Row("GET", "/requests/{ticket}/", (L, 200, 404, 404, 403, 403, 403)),
    "portal:escalate": Row("POST", "/requests/{ticket}/escalate", (L, L, 404, 404, 403, 403, 403)),
    "portal:rate": Row("POST", "/requests/{ticket}/rate", (L, L, 404, 404, 403, 403, 403)),
    "portal:attachment": Row(
        "GET", "/attachments/{attachment}/", (403, 200, 404, 404, 200, 200, 200)
    ),
    "console:inbox": Row("GET", "/console/", (L, 403, 403, 403, 200, 200, 200)),
    "console:escalations": Row("GET", "/console/escalations/", (L, 403, 403, 403, 403, 200, 200)),
    "console:notifications": Row(
        "GET", "/console/notifications/", (L, 403, 403, 403, 200, 200, 200)
    ),
    "console:sla_board": Row("GET", "/console/sla/", (L, 403, 403, 403, 200, 200, 200)),
    "console:triage": Row("GET", "/console/triage/", (L, 403, 403, 403, 200, 200, 200)),
    "console:triage_categorise": Row(
        "POST",
        "/console/triage/{ticket}/categorise",
        (L, 403, 403, 403, L, L, L),
        body={"category": "returns"},
    ),
    "console:escalate": Row(
        "POST", "/console/tickets/{ticket}/escalate", (L, 403, 403, 403, L, L, L)
    ),
    "console:ticket": Row("GET", "/console/tickets/{ticket}/", (L, 403, 403, 403, 200, 200, 200)),
    "console:reply": Row(
        "POST",
        "/console/tickets/{ticket}/reply",
        (L, 403, 403, 403, L, L, L),
        body={"body": "Hello"},
    ),
    "console:note": Row(
        "POST", "/console/tickets/{ticket}/note", (L, 403, 403, 403, L, L, L), body={"body": "Note"}
    ),
    "console:update": Row(
        "POST",
        "/console/tickets/{ticket}/update",
        (L, 403, 403, 403, L, L, L),
        body={
            "status": "open",
            "category": "returns",
            "priority": "high",
            "team": "customer_care",
            "assignee": "",
        },
    ),
    "console:quick": Row(
        "POST",
        "/console/tickets/{ticket}/quick",
        (L, 403, 403, 403, L, L, L),
        body={"action": "assign_me"},
    ),
    "console:tags_add": Row(
        "POST", "/console/tickets/{ticket}/tags", (L, 403, 403, 403, L, L, L), body={"tags": "vip"}
    ),
    "console:tag_remove": Row(
        "POST",
        "/console/tickets/{ticket}/tags/remove",
        (L, 403, 403, 403, L, L, L),
        body={"tag": "vip"},
    ),
    "console:customer_note_add": Row(
        "POST",
        "/console/tickets/{ticket}/customer-notes",
        (L, 403, 403, 403, L, L, L),
        body={"body": "Prefers email."},
    ),
    "console:customer_note_delete": Row(
        "POST",
        "/console/tickets/{ticket}/customer-notes/999999/delete",
        (L, 403, 403, 403, 404, 404, 404),
    ),
    "console:saved_view_create": Row(
        "POST",
        "/console/views/",
        (L, 403, 403, 403, L, L, L),
        body={"name": "Urgent", "query": "view=open&sort=priority"},
    ),
    "console:saved_view_delete": Row(
        "POST", "/console/views/999999/delete", (L, 403, 403, 403, 404, 404, 404)
    ),
    "console:delivery_retry": Row(
        "POST", "/console/tickets/{ticket}/deliveries/{outbound}/retry", (L, 403, 403, 403, L, L, L)
    ),
    "console:escalation_contact": Row(
        "POST",
        "/console/tickets/{ticket}/escalations/{escalation}/contact",
        (L, 403, 403, 403, 403, L, L),
        body={"summary": "Phoned the customer"},
    ),
    "chat:status": Row("GET", "/chat/status", (200,) * 7),
    "chat:pulse": Row("GET", "/chat/status/pulse", (200,) * 7),
    "chat:offline_message": Row(
        "POST",
        "/chat/offline-message",
        (201,) * 7,
        body={
            "name": "Ada",
            "email": "ada.offline@example.com",
            "category": "payments",
            "text": "Card charged twice",
        },
        json_body=True,
    ),
    # Chat sessions are authorised by their resume token, never by a login.
    "chat:history": Row("GET", f"/chat/sessions/{NO_SESSION}/history", (401,) * 7),
    "chat:upload": Row("POST", f"/chat/sessions/{NO_SESSION}/uploads", (401,) * 7),
    "chat:attachment": Row("GET", f"/chat/sessions/{NO_SESSION}/attachments/1", (401,) * 7),
    "chat:demo_product": Row("GET", "/demo/product/izonie-x12-pro", (200,) * 7),
    "chat:desk": Row("GET", "/console/chat/", (L, 403, 403, 403, 200, 200, 200)),
    # An agent's upload to a chat that does not exist: staff learn so, others get nowhere.
    "chat:agent_upload": Row(
        "POST", f"/console/chat/sessions/{NO_SESSION}/uploads", (L, 403, 403, 403, 404, 404, 404)
    ),
    # The desk's visitor panel of a chat that does not exist: the same.
    "chat:visitor": Row(
        "GET", f"/console/chat/sessions/{NO_SESSION}/visitor", (L, 403, 403, 403, 404, 404, 404)
    ),
    # The desk's macros filled in for a chat that does not exist: the same.
    "chat:macros": Row(
        "GET", f"/console/chat/sessions/{NO_SESSION}/macros", (L, 403, 403, 403, 404, 404, 404)
    ),
    # Counting a use of a macro that does not exist: agents get 404.
    "chat:macro_used": Row(
        "POST", "/console/chat/macros/999999/used", (L, 403, 403, 403, 404, 404, 404), body={}
    ),
    "api-v1:api-root": Row("GET", "/api/v1/", (404,) * 7),
    "admin:index": Row("GET", "/admin/", (L, L, L, L, L, L, 200)),
    # Provider webhooks: only the provider's signature or secret counts, never a session
    # (none is configured here, so everyone is refused).
    "mail:inbound_mailgun": Row("POST", "/mail/inbound/mailgun/", (403,) * 7, body={}),
    "mail:inbound_sendgrid": Row("POST", "/mail/inbound/sendgrid/", (403,) * 7, body={}),
    "mail:inbound_postmark": Row("POST", "/mail/inbound/postmark/", (403,) * 7, body={}),
    "mail:inbound_amazon_ses": Row("POST", "/mail/inbound/amazon-ses/", (403,) * 7, body={}),
    # Signed by the platform, not by a session: refused (not configured) for every role.
    "social:meta_webhook": Row("POST", "/social/webhooks/meta/", (403,) * 7, body={}),
    "social:tiktok_webhook": Row("POST", "/social/webhooks/tiktok/", (403,) * 7, body={}),
    # The world's attachment is not a social one: staff get past the check and find none.
    "social:attachment_retry": Row(
        "POST",
        "/console/tickets/{ticket}/attachments/{attachment}/retry",
        (L, 403, 403, 403, 404, 404, 404),
    ),
    "api-v1:openapi-json": Row("GET", "/api/v1/openapi.json", (200,) * 7),
    "api-v1:openapi-view": Row("GET", "/api/v1/docs", (200,) * 7),
    "api-v1:ticket_create": Row(
        "POST",
        "/api/v1/tickets",
        (401, 201, 201, 201, 422, 422, 422),
        body={"category": "payments", "body": "Refund?"},
        json_body=True,
    ),
    "api-v1:ticket_list": Row("GET", "/api/v1/tickets", (401, 200, 200, 200, 200, 200, 200)),
    # Answered item by item: the support team's items without a requester are refused
    # inside a 200 answer (tickets/tests/api/test_ticket_create_many.py).
    "api-v1:ticket_create_many": Row(
        "POST",
        "/api/v1/tickets/create_many",
        (401, 200, 200, 200, 200, 200, 200),
        body={"tickets": [{"category": "payments", "body": "Refund?"}]},
        json_body=True,
    ),
    "api-v1:ticket_detail": Row(
        "GET", "/api/v1/tickets/{ticket}", (401, 200, 404, 404, 200, 200, 200)
    ),
    "api-v1:reply_create": Row(
        "POST",
        "/api/v1/tickets/{ticket}/replies",
        (401, 201, 404, 404, 201, 201, 201),
        body={"body": "Hi"},
        json_body=True,
    ),
    "api-v1:note_create": Row(
        "POST",
        "/api/v1/tickets/{ticket}/notes",
        (401, 403, 404, 404, 201, 201, 201),
        body={"body": "Note"},
        json_body=True,
    ),
    "api-v1:ticket_update": Row(
        "PATCH",
        "/api/v1/tickets/{ticket}",
        (401, 403, 404, 404, 200, 200, 200),
        body={"priority": "high"},
        json_body=True,
    ),
    # Help Center: public pages, csrf-exempt counters, the supervisors' report.
    "helpcenter:home": Row("GET", "/help/", (200,) * 7),
    "helpcenter:search": Row("GET", "/help/search?q=return", (200,) * 7),
    "helpcenter:suggest": Row("GET", "/help/suggest?q=ret", (200,) * 7),
    "helpcenter:sitemap": Row("GET", "/help/sitemap.xml", (200,) * 7),
    "helpcenter:section": Row("GET", "/help/{section}/", (200,) * 7),
    "helpcenter:article": Row("GET", "/help/{section}/{article}", (200,) * 7),
    "helpcenter:api_suggestions": Row("GET", "/help/api/suggestions?q=return", (200,) * 7),
    "helpcenter:api_deflection": Row(
        "POST",
        "/help/api/deflections",
        (201,) * 7,
        body={"article_id": "{article_id}", "source": "contact_form"},
    ),
    "helpcenter:feedback": Row(
        "POST", "/help/articles/{article_id}/feedback", (L,) * 7, body={"helpful": "yes"}
    ),
    "helpcenter:image": Row("GET", "/help/images/{image}", (200,) * 7),
    "helpcenter:report": Row("GET", "/help/report", (L, 403, 403, 403, 403, 200, 200)),
    # Conduct: agents act on tickets, supervisors on blocks.
    "conduct:end": Row(
        "POST",
        "/console/conduct/tickets/{ticket}/end",
        (L, 403, 403, 403, L, L, L),
        body={"reason": "Abuse"},
    ),
    "conduct:flag_dismiss": Row(
        "POST", "/console/conduct/flags/{flag}/dismiss", (L, 403, 403, 403, L, L, L)
    ),
    "conduct:blocks": Row("GET", "/console/conduct/blocks/", (L, 403, 403, 403, 403, 200, 200)),
    "conduct:block_lift": Row(
        "POST", "/console/conduct/blocks/{block}/lift", (L, 403, 403, 403, 403, L, L)
    ),
    # Feedback: the rating link is the credential, whoever opens it.
    "feedback:rate": Row("GET", "/feedback/rate/{rating_token}/", (200,) * 7),
    "feedback:thanks": Row(
        "GET", "/feedback/rate/{rating_token}/thanks", (L,) * 7, anonymous_to_login=False
    ),
    # Only the requester may rate; this world's ticket is not solved yet (422 for them).
    "api-v1:rating_record": Row(
        "POST",
        "/api/v1/tickets/{ticket}/rating",
        (401, 422, 404, 404, 422, 422, 422),
        body={"score": 4},
        json_body=True,
    ),
    # Seller portal: the seller's own dispute only; the console's dispute and workload pages.
    "portal:seller_home": Row("GET", "/seller/", (L, 403, 403, 200, 403, 403, 403)),
    "portal:seller_dispute": Row(
        "GET", "/seller/disputes/{dispute}/", (L, 403, 403, 200, 403, 403, 403)
    ),
    "portal:seller_request": Row("GET", "/seller/requests/new", (L, 403, 403, 200, 403, 403, 403)),
    # Previewing the claim sends nothing: any agent may (the world's first message).
    "console:dispute_preview": Row(
        "POST",
        "/console/tickets/{ticket}/dispute/preview",
        (L, 403, 403, 403, 200, 200, 200),
        body={},
    ),
    # The world's ticket has no order: opening a dispute is refused with the form shown.
    "console:dispute_open": Row(
        "POST", "/console/tickets/{ticket}/dispute", (L, 403, 403, 403, 400, 400, 400), body={}
    ),
    "console:dispute_message": Row(
        "POST",
        "/console/tickets/{dispute_ticket}/dispute/message",
        (L, 403, 403, 403, L, L, L),
        body={"body": "Photos, please."},
    ),
    "console:dispute_resolve": Row(
        "POST",
        "/console/tickets/{dispute_ticket}/dispute/outcome",
        (L, 403, 403, 403, 400, 400, 400),
        body={"outcome": "refund"},  # no reason: refused, so every role sees the same
    ),
    "console:dispute_notice_retry": Row(
        "POST",
        "/console/tickets/{dispute_ticket}/dispute/notices/{notice}/retry",
        (L, 403, 403, 403, L, L, L),
    ),
    "console:workload": Row("GET", "/console/workload/", (L, 403, 403, 403, 200, 200, 200)),
    # The agent workspace: search, bulk changes, next ticket, presence on a ticket, shifts.
    "console:search": Row("GET", "/console/search?q=IZS", (L, 403, 403, 403, 200, 200, 200)),
    "console:bulk": Row(
        "POST",
        "/console/bulk",
        (L, 403, 403, 403, L, L, L),
        body={"ticket": "{ticket}", "status": "open"},
    ),
    "console:next_ticket": Row("GET", "/console/next", (L, 403, 403, 403, L, L, L)),
    # Merging: agents only; without tickets chosen, back to the inbox.
    "console:merge": Row(
        "GET", "/console/tickets/{ticket}/merge", (L, 403, 403, 403, 200, 200, 200)
    ),
    "console:merge_selected": Row("GET", "/console/merge", (L, 403, 403, 403, L, L, L)),
    "console:ticket_presence": Row(
        "POST",
        "/console/tickets/{ticket}/presence",
        (L, 403, 403, 403, 200, 200, 200),
        body={"state": "viewing"},
    ),
    "console:shift_end": Row("GET", "/console/shift/end", (L, 403, 403, 403, 200, 200, 200)),
    "console:shift_start": Row("GET", "/console/shift/start", (L, 403, 403, 403, L, L, L)),
    # Macros: a shared one is the supervisors' to edit; a personal one is its owner's only
    # (another agent, even a supervisor, does not find it).
    "console:macros": Row("GET", "/console/macros/", (L, 403, 403, 403, 200, 200, 200)),
    # Mail that became no ticket (machine mail, bounces): the support team only.
    "console:other_mail": Row("GET", "/console/mail/", (L, 403, 403, 403, 200, 200, 200)),
    "console:other_mail_detail": Row(
        "GET", "/console/mail/{machine_mail}/", (L, 403, 403, 403, 200, 200, 200)
    ),
    "console:macros_json": Row(
        "GET", "/console/macros.json?ticket={ticket}", (L, 403, 403, 403, 200, 200, 200)
    ),
    "console:macro_edit": Row(
        "GET", "/console/macros/{shared_macro}/", (L, 403, 403, 403, 404, 200, 200)
    ),
    "console:macro_delete": Row(
        "POST", "/console/macros/{personal_macro}/delete", (L, 403, 403, 403, L, 404, 404)
    ),
    "console:workload_override": Row(
        "POST",
        "/console/workload/tickets/{ticket}/override",
        (L, 403, 403, 403, 403, L, L),
        body={"agent": "{agent_id}"},
    ),
    "reports:index": Row("GET", "/reports/", (L, 403, 403, 403, 403, 200, 200)),
    "reports:report": Row("GET", "/reports/volume/", (L, 403, 403, 403, 403, 200, 200)),
    "reports:export": Row("GET", "/reports/volume/export.csv", (L, 403, 403, 403, 403, 200, 200)),
}


def _names(patterns, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace == "admin":
                continue  # the admin site guards itself; its index is in the table
            names |= _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_is_in_the_table():
    names = _names(get_resolver().url_patterns) | {"admin:index"}
    assert names == set(TABLE), f"add rows for {sorted(names - set(TABLE))}"


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    owner = BuyerFactory()
    ticket = TicketFactory(requester=owner, channel=Channel.WEB_FORM)
    upload = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
    message = services.ticket_customer_message(
        ticket=ticket, author=owner, body="photo", uploads=check_uploads([upload])
    )
    reply = services.ticket_reply(ticket=ticket, author=AgentFactory(), body="Hello")
    escalation, _ = escalation_request(ticket=ticket, requested_by=owner, channel="web_form")
    article = make_article(title="How to start a return")
    users = {
        "anonymous": None,
        "owner": owner,
        "other_buyer": BuyerFactory(),
        "seller": SellerUserFactory(),
        "agent": AgentFactory(),
        "supervisor": SupervisorFactory(),
        "admin": AdminFactory(),
    }
    ids = {
        "ticket": ticket.pk,
        "attachment": message.attachments.get().pk,
        "outbound": reply.outbound.pk,
        "escalation": escalation.pk,
        "section": article.section.slug,
        "article": article.slug,
        "article_id": article.pk,
        "image": ArticleImage.objects.create(
            article=article,
            image=SimpleUploadedFile("step.png", png_bytes(), content_type="image/png"),
            alt="Step",
        ).pk,
    }
    from conduct.models import ConductBlock, ConductFlag
    from feedback.models import RatingRequest
    from feedback.tokens import link_token

    ids["flag"] = ConductFlag.objects.create(
        message=message, ticket=ticket, customer=owner, channel="web_form", severity="low"
    ).pk
    ids["block"] = ConductBlock.objects.create(
        customer=owner, channel="web_form", violations=3, ends_at=timezone.now() + dt.timedelta(1)
    ).pk
    rating_request = RatingRequest.objects.create(
        ticket=ticket, interaction="resolution-1", email=owner.email
    )
    ids["rating_token"] = link_token(request_id=rating_request.pk, score=4)
    from disputes.models import Dispute, NoticeKind, SellerNotice

    dispute = Dispute.objects.create(
        ticket=TicketFactory(requester=owner, channel=Channel.WEB_FORM),
        order_number="IZ-20461187",
        seller_id="1",
        store_name="GadgetHub",
        seller_email="care@gadgethub.example",
        seller_user=users["seller"],
        buyer_label="Buyer",
        claim="Cracked screen.",
    )
    notice = SellerNotice.objects.create(
        dispute=dispute, kind=NoticeKind.OPENED, to=dispute.seller_email, subject="s", body="b"
    )
    ids |= {
        "dispute": dispute.pk,
        "dispute_ticket": dispute.ticket_id,
        "notice": notice.pk,
        "agent_id": users["agent"].pk,
    }
    from mail.models import InboundEmail, InboundStatus

    ids["machine_mail"] = InboundEmail.objects.create(
        raw=b"From: news@shop.example\r\nSubject: Deals\r\n\r\nBig sale\r\n",
        sender="news@shop.example",
        subject="Deals",
        status=InboundStatus.IGNORED,
        reason="bulk: List-Id",
    ).pk
    from macros.models import Macro

    ids["shared_macro"] = Macro.objects.create(
        title="Greeting", body="Hello {{ customer.first_name }}", owner=None
    ).pk
    ids["personal_macro"] = Macro.objects.create(
        title="Mine", body="Thanks", owner=users["agent"]
    ).pk
    return users, ids


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TABLE))
def test_access_by_role(name, world, settings):
    # Every role posts the same form here; the limits have their own tests
    # (core/tests/test_throttle.py).
    settings.IZONIE_THROTTLE_OFFLINE_PER_ADDRESS = "0"
    settings.IZONIE_THROTTLE_OFFLINE_PER_IP = "0"
    users, ids = world
    row = TABLE[name]
    got = []
    for role in ROLES:
        client = Client()
        if users[role] is not None:
            client.force_login(users[role])
        path = row.path.format(**ids)
        kwargs: dict = {}
        if row.body is not None:
            if row.json_body:
                kwargs = {"data": json.dumps(row.body), "content_type": "application/json"}
            else:
                kwargs = {
                    "data": {
                        key: value.format(**ids) if isinstance(value, str) else value
                        for key, value in row.body.items()
                    }
                }
        response = getattr(client, row.method.lower())(path, **kwargs)
        got.append(response.status_code)
        if (
            response.status_code == 302
            and users[role] is None
            and row.method == "GET"
            and row.anonymous_to_login
        ):
            assert "login" in response["Location"], (name, role, response["Location"])
    assert tuple(got) == row.expected, dict(zip(ROLES, got, strict=True))
