from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("contact", views.contact, name="contact"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<int:ticket_id>/", views.request_detail, name="request"),
]
