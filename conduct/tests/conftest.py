# The live-chat fixtures (business-hours clock, online agents, in-memory layer, uvicorn).
from chat.tests.conftest import _memory_layer, asgi_server, clock, online_agent  # noqa: F401
