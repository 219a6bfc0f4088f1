"""A social attachment that could not be downloaded stays visible to the agent as the
platform's link (a link, not an image the console would load; https to a platform media
host only) with a queued "Retry download" that keeps it once the download works."""

from __future__ import annotations

import pytest
from django.test import Client, TestCase
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory
from conftest import png_bytes
from social.models import SocialMediaLink
from social.tests.conftest import PAGE_ID, meta_delivery, post_meta, text_event
from social.tests.platform_server import Answer
from tickets.choices import Direction
from tickets.models import Attachment, Message


def _deliver(client, run_tasks, url: str) -> Attachment:
    attachment = {"type": "image", "payload": {"url": url}}
    post_meta(
        client,
        meta_delivery((PAGE_ID, [text_event("psid-1", "Cracked", attachments=[attachment])])),
    )
    run_tasks()
    return Message.objects.get(direction=Direction.INBOUND).attachments.get()


def _agent() -> Client:
    agent = Client()
    agent.force_login(AgentFactory())
    return agent


def test_the_link_is_shown_and_a_retry_keeps_the_image(client, fb_page, platform, run_tasks):
    url = f"{platform.url}/cdn/photo.png"
    platform.files["/cdn/photo.png"] = Answer(503, b"busy")
    refused = _deliver(client, run_tasks, url)
    assert not refused.kept and "HTTP 503" in refused.not_kept_reason
    ticket = refused.message.ticket

    agent = _agent()
    page = agent.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert f'<a href="{url}" rel="noopener noreferrer nofollow"' in page
    assert f'<img src="{url}"' not in page  # the console never loads the customer's link
    retry = f"/console/tickets/{ticket.pk}/attachments/{refused.pk}/retry"
    assert f'action="{retry}"' in page and "Retry download" in page

    platform.files["/cdn/photo.png"] = Answer(200, png_bytes(), {"Content-Type": "image/png"})
    downloads = len(platform.requests)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = agent.post(retry)
    assert response.status_code == 302
    assert response["Location"].endswith(
        f"/console/tickets/{ticket.pk}/#message-{refused.message_id}"
    )
    # Queued, not fetched inside the agent's request.
    assert len(platform.requests) == downloads
    page = agent.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "The download will be tried again in the background" in page
    assert "Download queued" in page and f'action="{retry}"' not in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent.post(retry)  # a second click while it waits queues nothing more
    assert run_tasks() == 1

    refused.refresh_from_db()
    assert refused.kept and refused.not_kept_reason == ""
    assert refused.content_type == "image/png" and refused.file.read() == png_bytes()
    page = agent.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert f'<img src="{reverse("portal:attachment", args=[refused.pk])}"' in page
    assert Attachment.objects.count() == 1  # the same row, not a second one


def test_a_retry_that_fails_again_says_why_and_keeps_the_link(client, fb_page, platform, run_tasks):
    platform.files["/cdn/photo.png"] = Answer(404, b"gone")
    refused = _deliver(client, run_tasks, f"{platform.url}/cdn/photo.png")
    ticket = refused.message.ticket
    agent = _agent()
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent.post(f"/console/tickets/{ticket.pk}/attachments/{refused.pk}/retry")
    run_tasks()
    page = agent.get(f"/console/tickets/{ticket.pk}/").content.decode()
    assert "(not kept: the platform&#x27;s media link could not be fetched: HTTP 404)" in page
    assert "Retry download" in page and "last tried" in page  # the agent may try again
    refused.refresh_from_db()
    link = SocialMediaLink.objects.get(attachment=refused)
    assert not refused.kept and link.retried_at and link.retry_queued_at is None


def test_a_link_that_is_not_http_is_never_shown_as_a_link(client, fb_page, platform, run_tasks):
    refused = _deliver(client, run_tasks, "javascript:alert(document.cookie)")
    assert not refused.kept
    page = _agent().get(f"/console/tickets/{refused.message.ticket_id}/").content.decode()
    assert "javascript:alert" not in page


@pytest.mark.parametrize(
    "url",
    [
        "http://scontent.xx.fbcdn.net/v/photo.png",  # a media host, but not https
        "https://evil.example/photo.png",  # https, but not a platform media host
    ],
)
def test_only_https_links_to_media_hosts_are_shown(client, fb_page, platform, run_tasks, url):
    refused = _deliver(client, run_tasks, url)
    assert not refused.kept
    page = _agent().get(f"/console/tickets/{refused.message.ticket_id}/").content.decode()
    assert f'href="{url}"' not in page
    assert "the link is not shown: it is not an https address" in page


def test_an_https_media_host_link_is_shown(settings, fb_page):
    settings.IZONIE_OUTBOUND_TEST_ORIGINS = []
    link = SocialMediaLink(url="https://scontent-lhr8-1.xx.fbcdn.net/v/t1/photo.jpg?oh=1")
    assert link.web_url == link.url


@pytest.mark.django_db
def test_only_agents_may_retry(client, fb_page, platform, run_tasks):
    platform.files["/cdn/photo.png"] = Answer(404, b"gone")
    refused = _deliver(client, run_tasks, f"{platform.url}/cdn/photo.png")
    customer = Client()
    customer.force_login(BuyerFactory())
    url = f"/console/tickets/{refused.message.ticket_id}/attachments/{refused.pk}/retry"
    downloads = len(platform.requests)
    assert customer.post(url).status_code in (302, 403)
    assert len(platform.requests) == downloads  # nothing fetched for them
    refused.refresh_from_db()
    assert not refused.kept
