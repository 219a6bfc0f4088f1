from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
]
