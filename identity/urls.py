from django.urls import path

from identity import views

app_name = "identity"

urlpatterns = [
    path("verify/<int:challenge_id>/<str:token>", views.verify_link, name="verify_link"),
]
