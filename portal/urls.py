from django.urls import path

from portal import seller_views, views

app_name = "portal"

urlpatterns = [
    path("contact", views.contact, name="contact"),
    path("contact/thanks", views.thanks, name="thanks"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<int:ticket_id>/", views.request_detail, name="request"),
    path("requests/<int:ticket_id>/escalate", views.request_escalate, name="escalate"),
    path("requests/<int:ticket_id>/rate", views.request_rate, name="rate"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("seller/", seller_views.home, name="seller_home"),
    path(
        "seller/disputes/<int:dispute_id>/",
        seller_views.dispute_detail,
        name="seller_dispute",
    ),
    path("seller/requests/new", seller_views.request_new, name="seller_request"),
]
