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
