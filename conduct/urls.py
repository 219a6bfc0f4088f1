from django.urls import path

from conduct import views

app_name = "conduct"

urlpatterns = [
    path("tickets/<int:ticket_id>/end", views.end_for_conduct, name="end"),
    path("flags/<int:flag_id>/dismiss", views.flag_dismiss, name="flag_dismiss"),
    path("blocks/", views.blocks, name="blocks"),
    path("blocks/<int:block_id>/lift", views.block_lift, name="block_lift"),
]
