import pytest

from accounts.tests.factories import AdminFactory, AgentFactory, BuyerFactory, SupervisorFactory


@pytest.fixture
def supervisor(db):
    return SupervisorFactory(username="sam.supervisor")


@pytest.fixture
def agent(db):
    return AgentFactory(username="ada.agent", display_name="Ada Agent")


@pytest.fixture
def admin_user(db):
    return AdminFactory(username="root")


@pytest.fixture
def buyer(db):
    return BuyerFactory(username="chioma.buyer")


@pytest.fixture(autouse=True)
def _refresh_at_once(settings):
    """The refresh runs as soon as the test's worker looks (60 s later in production)."""
    settings.IZONIE_REPORTS_REFRESH_DELAY_SECONDS = 0
