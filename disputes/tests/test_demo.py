import pytest

from core.demo import seed_demo
from disputes.models import Dispute, DisputeStatus

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_open_dispute_for_gadgethub(client):
    seed_demo()
    dispute = Dispute.objects.get(seller_user__username="gadgethub.seller")
    assert dispute.status == DisputeStatus.OPEN
    assert dispute.store_name == "GadgetHub"
    client.force_login(dispute.seller_user)
    page = client.get(f"/seller/disputes/{dispute.pk}/").content.decode()
    assert "stopped charging" in page and "photo of the charging port" in page
