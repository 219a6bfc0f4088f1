"""WebSocket routes; each channel app adds its consumers here."""

from django.urls import path

from chat.consumers import AgentChatConsumer, CustomerChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", CustomerChatConsumer.as_asgi()),
    path("ws/console/chat/", AgentChatConsumer.as_asgi()),
]
