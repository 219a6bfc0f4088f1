"""Remote images in customers' HTML email: held back in the console, shown per message."""

import pytest
from django.test import Client

from accounts.tests.factories import AgentFactory
from mail.display import email_html
from tickets.choices import Channel
from tickets.models import Message
from tickets.services import sanitise_html
from tickets.tests.factories import MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db

TRACKED = (
    '<p>My order is late.</p><img src="https://tracker.example/open.gif?u=42" alt="">'
    '<img src="http://plain.example/logo.png" alt="Logo"><img src="/console/" alt="Local">'
)


def test_image_sources_are_removed_unless_remote_images_are_asked_for():
    stored = sanitise_html(TRACKED)
    hidden = email_html(stored, remote_images=False)
    assert "tracker.example" not in hidden.html and "plain.example" not in hidden.html
    assert 'src="/console/"' not in hidden.html  # not even this site's pages
    assert "<p>My order is late.</p>" in hidden.html and 'alt="Logo"' in hidden.html
    assert hidden.hidden_images == 3
    shown = email_html(stored, remote_images=True)
    assert 'src="https://tracker.example/open.gif?u=42"' in shown.html
    # Plain HTTP stays out (unencrypted, mixed content), and so do relative sources.
    assert "plain.example" not in shown.html and 'src="/console/"' not in shown.html


def csp_img_src(response) -> list[str]:
    for part in response["Content-Security-Policy"].split(";"):
        words = part.split()
        if words and words[0] == "img-src":
            return words[1:]
    raise AssertionError("no img-src")


def test_console_holds_back_remote_images_and_shows_them_for_one_message():
    ticket = TicketFactory(channel=Channel.EMAIL)
    first = MessageFactory(
        ticket=ticket, channel=Channel.EMAIL, body_text="late", body_html=sanitise_html(TRACKED)
    )
    other = MessageFactory(
        ticket=ticket,
        channel=Channel.EMAIL,
        body_text="again",
        body_html=sanitise_html('<img src="https://other.example/pixel.gif">'),
    )
    client = Client()
    client.force_login(AgentFactory())
    url = f"/console/tickets/{ticket.pk}/"

    page = client.get(url)
    body = page.content.decode()
    assert "tracker.example" not in body and "other.example" not in body
    assert "3 remote images not loaded" in body
    assert f'href="?remote_images={first.pk}#message-{first.pk}"' in body
    assert "https:" not in csp_img_src(page)

    shown = client.get(url, {"remote_images": first.pk})
    body = shown.content.decode()
    assert 'src="https://tracker.example/open.gif?u=42"' in body
    assert "other.example" not in body  # only the message asked for
    assert f'href="?remote_images={other.pk}#message-{other.pk}"' in body
    assert "https:" in csp_img_src(shown)
    # The stored message is unchanged: hiding is only how it is shown.
    assert "tracker.example" in Message.objects.get(pk=first.pk).body_html
