# The live-chat fixtures (business-hours clock, online agents, in-memory layer).
from chat.tests.conftest import _memory_layer, clock, online_agent  # noqa: F401
