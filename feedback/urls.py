from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("rate/<str:token>/", views.rate, name="rate"),
    path("rate/<str:token>/thanks", views.thanks, name="thanks"),
]
