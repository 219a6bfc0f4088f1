"""Live chat in Chromium: a customer on the demo product page and an agent on the
chat desk, served by uvicorn with real WebSockets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, AgentFactory
from chat.models import AgentPresence, ChatSession
from chat.tests.conftest import CLOSED_MOMENT
from conftest import png_bytes, screenshot_path
from helpcenter.content import content_load
from helpcenter.models import Deflection
from helpcenter.services import search_index_rebuild
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCT = "/demo/product/izonie-x12-pro"


def new_page(browser, *, width=1280, height=900):
    context = browser.new_context(
        viewport={"width": width, "height": height}, timezone_id="Europe/London"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page, server, user):
    page.goto(f"{server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def agent_online(browser, server, agent):
    desk = new_page(browser)
    sign_in(desk, server, agent)
    desk.goto(f"{server.url}/console/chat/")
    expect(desk.locator("#desk-conn")).to_have_text("Connected.")
    desk.get_by_label("My availability").select_option("online")
    # The choice travels over the socket: wait until the server has recorded it.
    for _ in range(100):
        if AgentPresence.objects.filter(agent=agent, status="online").exists():
            break
        desk.wait_for_timeout(50)
    assert AgentPresence.objects.get(agent=agent).status == "online"
    return desk


def start_chat(customer, server, *, text="My X12 Pro arrived with a cracked screen"):
    customer.goto(f"{server.url}{PRODUCT}")
    customer.get_by_role("button", name="Chat with us").click()
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    dialog.get_by_label("Your name").fill("Ada Obi")
    dialog.get_by_label("Email").fill("ada@example.com")
    dialog.get_by_label("Topic").select_option(label="Returns")
    dialog.get_by_label("How can we help?").fill(text)
    dialog.get_by_role("button", name="Start chat").click()
    return dialog


def test_customer_and_agent_chat_with_typing_upload_and_reconnect(
    browser, asgi_server, clock, tmp_path
):
    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)

    customer = new_page(browser)
    dialog = start_chat(customer, asgi_server)
    log = dialog.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("My X12 Pro arrived with a cracked screen")
    expect(dialog.locator(".izc-status")).to_contain_text("in the queue")

    # The chat is offered to the only agent online; they accept it.
    desk.get_by_role("button", name="Accept chat with Ada Obi").click()
    expect(log).to_contain_text("Ada Agent joined the chat.")
    desk_log = desk.get_by_role("log", name="Messages")
    expect(desk_log).to_contain_text("cracked screen")

    # Typing shows on both sides.
    desk.get_by_label("Message", exact=True).press_sequentially("Sorry", delay=20)
    expect(dialog.locator(".izc-typing")).to_have_text("The agent is typing…")
    desk.get_by_label("Message", exact=True).press("Enter")
    expect(log).to_contain_text("Sorry")
    dialog.get_by_label("Type your message").press_sequentially("It was sealed", delay=20)
    expect(desk.locator("#conv-typing")).to_have_text("The customer is typing…")
    dialog.get_by_label("Type your message").press("Enter")
    expect(desk_log).to_contain_text("It was sealed")
    expect(dialog.locator("li.izc-mine").last).to_contain_text(re.compile("Sent|Read"))

    # A photo goes up over HTTP and shows inline for the agent.
    photo = tmp_path / "crack.png"
    photo.write_bytes(png_bytes((40, 40)))
    dialog.locator("input[type=file]").set_input_files(str(photo))
    expect(desk_log.locator("img[alt='crack.png']")).to_be_visible()

    customer.screenshot(path=screenshot_path("chat-widget-desktop"))
    desk.screenshot(path=screenshot_path("chat-desk"))

    # The customer's socket is cut; a reply sent meanwhile arrives once after reconnecting.
    customer.evaluate("window.IzonieChat._state.ws.close()")
    desk.get_by_label("Message", exact=True).fill("Here is your return label")
    desk.get_by_label("Message", exact=True).press("Enter")
    expect(log.get_by_text("Here is your return label")).to_have_count(1)
    customer.wait_for_timeout(700)
    expect(log.get_by_text("Here is your return label")).to_have_count(1)

    # The agent ends the chat; the customer is asked for a rating.
    # Ending asks for confirmation first.
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="End chat").click()
    expect(dialog.get_by_role("group", name="How did we do?")).to_be_visible()
    dialog.get_by_label("5 (excellent)").check()
    dialog.get_by_role("button", name="Send rating").click()
    expect(dialog.locator(".izc-status")).to_have_text("Thank you for your rating.")

    session = ChatSession.objects.get()
    assert session.state == "ended" and session.rating == 5
    texts = list(session.ticket.messages.values_list("body_text", flat=True))
    assert texts.count("Here is your return label") == 1
    assert Message.objects.filter(attachments__filename="crack.png").count() == 1


def test_outside_hours_the_widget_offers_to_leave_a_message(browser, asgi_server, clock):
    search_index_rebuild()
    content_load()
    clock(CLOSED_MOMENT)
    customer = new_page(browser, width=390, height=844)
    customer.goto(f"{asgi_server.url}{PRODUCT}")
    customer.get_by_role("button", name="Chat with us").click()
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    status = dialog.locator(".izc-status")
    expect(status).to_contain_text("Live chat is closed now.")
    # Tuesday 08:00 in Lagos, shown in the viewer's zone (London, one hour behind).
    expect(status).to_contain_text(re.compile(r"Tuesday.*07:00"))
    expect(dialog).to_contain_text("Monday – Saturday, 08:00 – 20:00 (Africa/Lagos)")
    customer.screenshot(path=screenshot_path("chat-widget-offline-phone"))

    dialog.get_by_label("Your name").fill("Chidi")
    dialog.get_by_label("Email").fill("not-an-email")
    dialog.get_by_label("Topic").select_option(label="Payments")
    dialog.get_by_label("Your message").fill("I was charged twice")
    # Help Center articles are suggested for what the customer types; one answered it.
    suggestion = dialog.locator(".izc-suggest li").first
    expect(suggestion.get_by_role("link")).to_be_visible()
    suggestion.get_by_role("button", name="This answered my question").click()
    expect(status).to_have_text("Glad that helped. You can close this window.")
    assert Deflection.objects.filter(source="chat_offline").count() == 1
    dialog.get_by_role("button", name="Leave a message").click()
    expect(dialog.locator("#izc-email-error")).to_have_text("Enter a valid email address.")
    dialog.get_by_label("Email").fill("chidi@example.com")
    dialog.get_by_role("button", name="Leave a message").click()
    expect(dialog).to_contain_text(re.compile(r"Your request is IZS-\d+"))
    ticket = Message.objects.get(body_text="I was charged twice").ticket
    assert ticket.channel == "email" and ticket.requester.email == "chidi@example.com"


def test_the_widget_at_phone_width(browser, asgi_server, clock):
    agent = AgentFactory(display_name="Tunde Agent")
    desk = agent_online(browser, asgi_server, agent)
    customer = new_page(browser, width=390, height=844)
    dialog = start_chat(customer, asgi_server, text="Where is order IZ?")
    expect(dialog.get_by_role("log", name="Conversation")).to_contain_text("Where is order IZ?")
    box = dialog.bounding_box()
    assert box is not None and box["width"] == 390
    customer.screenshot(path=screenshot_path("chat-widget-phone"))
    # Escape closes the dialog and gives focus back to the launcher.
    customer.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(customer.get_by_role("button", name="Chat with us")).to_be_focused()
    desk.close()


@pytest.fixture
def shop_site():
    """A page on another site (the shop, 127.0.0.2) that embeds the widget from the
    support server with one script tag, as izonie.com would."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    page = {"html": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page["html"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield page, f"http://127.0.0.2:{server.server_address[1]}"
    server.shutdown()


def test_the_widget_works_embedded_on_another_site(
    browser, asgi_server, clock, settings, shop_site, tmp_path
):
    page_html, shop = shop_site
    settings.IZONIE_CHAT_ALLOWED_ORIGINS = [shop]
    settings.CORS_ALLOWED_ORIGINS = [shop]
    page_html["html"] = (
        "<!doctype html><html lang='en'><head><title>Izonie shop</title></head><body>"
        "<main><h1>Izonie X12 Pro</h1></main>"
        f"<script src='{asgi_server.url}/static/chat/widget.js' defer data-izonie-chat"
        " data-platform='web'></script></body></html>"
    ).encode()
    agent = AgentFactory(display_name="Ada Agent")
    desk = agent_online(browser, asgi_server, agent)

    customer = new_page(browser)
    requested: list[str] = []
    customer.on("request", lambda request: requested.append(request.url))
    customer.goto(shop)
    customer.get_by_role("button", name="Chat with us").click()
    dialog = customer.get_by_role("dialog", name="Izonie Support chat")
    dialog.get_by_label("Your name").fill("Ada Obi")
    dialog.get_by_label("Email").fill("ada@example.com")
    dialog.get_by_label("Topic").select_option(label="Returns")
    dialog.get_by_label("How can we help?").fill("Ordered from the shop page")
    dialog.get_by_role("button", name="Start chat").click()
    log = dialog.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("Ordered from the shop page")

    desk.get_by_role("button", name="Accept chat with Ada Obi").click()
    desk.get_by_label("Message", exact=True).fill("Hello from support")
    desk.get_by_label("Message", exact=True).press("Enter")
    expect(log).to_contain_text("Hello from support")

    # The upload is a cross-site POST with the chat token header: it needs CORS.
    photo = tmp_path / "box.png"
    photo.write_bytes(png_bytes((30, 30)))
    dialog.locator("input[type=file]").set_input_files(str(photo))
    expect(desk.get_by_role("log", name="Messages").locator("img[alt='box.png']")).to_be_visible()
    assert Message.objects.filter(attachments__filename="box.png").count() == 1

    # The agent sends a photo from the desk; the customer sees it on the shop's page.
    label = tmp_path / "label.png"
    label.write_bytes(png_bytes((24, 24)))
    desk.get_by_label("Send photos or files").set_input_files(str(label))
    # Fetched with the X-Chat-Token header and shown from a blob: URL; no address the
    # widget asked for carries the token (access logs would keep it).
    expect(log.locator("img[alt='label.png']")).to_have_attribute("src", re.compile("^blob:"))
    loaded = log.locator("img[alt='label.png']").evaluate(
        "img => img.complete ? img.naturalWidth"
        " : new Promise(done => { img.onload = () => done(img.naturalWidth); })"
    )
    assert loaded == 24
    assert any("/attachments/" in url for url in requested)
    assert not [url for url in requested if "token" in url]
