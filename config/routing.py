"""WebSocket routes; each channel app adds its consumers here, each behind the origin
check that suits how it is signed in (see ``chat.origins``)."""

from django.urls import path

from chat.consumers import AgentChatConsumer, CustomerChatConsumer
from chat.origins import ConsoleOriginValidator, CustomerOriginValidator
from console.consumers import TicketPresenceConsumer

websocket_urlpatterns = [
    path("ws/chat/", CustomerOriginValidator(CustomerChatConsumer.as_asgi())),
    path("ws/console/chat/", ConsoleOriginValidator(AgentChatConsumer.as_asgi())),
    path(
        "ws/console/tickets/<int:ticket_id>/",
        ConsoleOriginValidator(TicketPresenceConsumer.as_asgi()),
    ),
]
