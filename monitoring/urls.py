from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("readyz", views.ready, name="ready"),
    path("metrics", views.metrics, name="metrics"),
]
