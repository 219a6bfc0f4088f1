import pytest
from django.urls import reverse

from accounts.tests.factories import AgentFactory, BuyerFactory
from tickets import services
from tickets.choices import Channel, TicketStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _open(buyer, body):
    return services.ticket_open(
        requester=buyer, channel=Channel.WEB_FORM, category="technical_support", body=body
    )


def test_merge_selected_from_the_inbox_keeps_the_chosen_ticket(client):
    buyer = BuyerFactory()
    a, b, c = (_open(buyer, f"Crash {n}") for n in "abc")
    client.force_login(AgentFactory())
    url = reverse("console:merge_selected")
    choose = client.get(url, {"ticket": [a.pk, b.pk, c.pk]})
    assert choose.status_code == 200
    assert "Keep which ticket?" in choose.content.decode()
    confirm = client.get(url, {"ticket": [a.pk, b.pk, c.pk], "into": b.pk})
    page = confirm.content.decode()
    assert f"move to <strong>{b.reference}</strong>" in page
    response = client.post(url, {"ticket": [a.pk, b.pk, c.pk], "into": b.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:ticket", args=[b.pk])
    assert set(Ticket.objects.filter(merged_into=b).values_list("pk", flat=True)) == {a.pk, c.pk}


def test_merge_selected_of_two_customers_is_refused_in_words(client):
    a, b = _open(BuyerFactory(), "Crash"), _open(BuyerFactory(), "Crash too")
    client.force_login(AgentFactory())
    response = client.post(
        reverse("console:merge_selected"), {"ticket": [a.pk, b.pk], "into": a.pk}
    )
    assert response.status_code == 400
    assert "different requesters" in response.content.decode()
    assert Ticket.objects.get(pk=b.pk).status != TicketStatus.CLOSED


def test_a_customer_cannot_merge(client):
    buyer = BuyerFactory()
    a, b = _open(buyer, "Crash"), _open(buyer, "Crash again")
    client.force_login(buyer)
    response = client.post(reverse("console:merge", args=[a.pk]), {"into": b.pk})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=a.pk).merged_into_id is None
