from django.urls import path

from policy import views

app_name = "policy"

urlpatterns = [
    path("support-policy", views.support_policy, name="support_policy"),
]
